//! The image pipeline: turns whatever a member uploads (or whatever Slack
//! serves as their current avatar) into the one square photo the bot stores in
//! sled and later hands to `users.setPhoto`.
//!
//! Everything here treats the input as hostile. The contract (SPEC, "Limits the
//! bot keeps" → Photos) accepts JPEG, PNG, GIF (first frame) and WebP up to
//! 10 MB and 8192 px a side, so the checks run cheapest first: byte size, then
//! magic bytes (never the file name), then the dimensions from the header, and
//! only then are pixels decoded — with `image::Limits` set as a second fence, so
//! a header that lies about its size (a decompression bomb) is refused rather
//! than decoded. A truncated or damaged file becomes [`PhotoError::Corrupt`],
//! never a panic.
//!
//! Memory is bounded too: no photo is held at full resolution. `stream`
//! decodes straight into `reduce`'s grid (the centre square at most twice the
//! stored size), what cannot stream is charged against a budget, and `gate`
//! lets one decode run at a time.
//!
//! The output is always a JPEG at quality 90:
//! - it is several times smaller than a PNG of a photo, and every preset photo
//!   and baseline avatar is kept in sled, which lives on a laptop or a Pi;
//! - Slack re-encodes whatever it is given, so a lossless upload would buy
//!   nothing that a member could see;
//! - Slack profile photos have no transparency (they are shown on an opaque
//!   tile), so any alpha is flattened onto white here instead of letting each
//!   client pick a background.

mod gate;
pub mod generate;
mod reduce;
mod stream;

use std::fmt;
use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::error::LimitErrorKind;
use image::imageops::{self, FilterType};
use image::metadata::Orientation;
use image::{DynamicImage, GenericImageView, ImageDecoder, ImageError, ImageFormat, ImageReader, Rgb, RgbImage};

pub use gate::PhotoGate;

/// Ceiling on a frame's size as the header declares it (the `image` crate's
/// fence on the header read). An 8192² RGBA image with 16-bit channels is
/// exactly this much, so every image the contract allows passes; what is
/// really allocated is bounded by `stream::DECODE_BUDGET`.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// The JPEG quality of stored photos: visually lossless for faces at 512–1024
/// px, and Slack recompresses anyway.
const JPEG_QUALITY: u8 = 90;

const MIB: usize = 1024 * 1024;

/// What a photo may be, on the way in and on the way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Largest accepted input file, bytes.
    pub max_bytes: usize,
    /// Largest accepted width or height of the input, pixels.
    pub max_side: u32,
    /// Side of the stored square, pixels.
    pub size: u32,
}

impl From<&crate::config::Images> for PhotoLimits {
    fn from(images: &crate::config::Images) -> Self {
        PhotoLimits { max_bytes: images.max_bytes, max_side: images.max_side, size: images.size }
    }
}

impl Default for PhotoLimits {
    fn default() -> Self {
        PhotoLimits { max_bytes: 10 * MIB, max_side: 8192, size: 512 }
    }
}

/// Why a photo was refused. `Display` is written for the member who sent it.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("That file is {}; photos can be at most {}.", size_over(*.bytes, *.max), size_limit(*.max))]
    TooLarge { bytes: usize, max: usize },
    #[error("That file is not an image I can use: send a JPEG, PNG, GIF or WebP.")]
    Unsupported,
    #[error("That image is {width}×{height} pixels; photos can be at most {max} pixels a side.")]
    Dimensions { width: u32, height: u32, max: u32 },
    #[error("That {format} is {width}×{height} pixels, more than I can open at once (about {megapixels} megapixels is the most for this kind of image); send it smaller, or as a PNG.")]
    TooManyPixels { width: u32, height: u32, format: &'static str, megapixels: u64 },
    #[error("That image looks damaged or incomplete ({0}).")]
    Corrupt(String),
    #[error("Something went wrong on my side while preparing that photo ({0}); please try again.")]
    Internal(String),
}

/// A photo ready to store and upload.
#[derive(Clone, PartialEq, Eq)]
pub struct Processed {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    /// Width and height of the square, pixels.
    pub side: u32,
}

// Hand-written so a log line shows the size of the photo, not 50 000 numbers.
impl fmt::Debug for Processed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Processed").field("bytes", &self.bytes.len()).field("mime", &self.mime).field("side", &self.side).finish()
    }
}

/// Identifies JPEG, PNG, GIF and WebP by their magic bytes; anything else
/// (including an empty file, or text named `.png`) is `None`.
pub(crate) fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP)) => Some(f),
        _ => None,
    }
}

/// Checks, decodes, orients, centre-crops, resizes and re-encodes one photo.
///
/// CPU-bound and synchronous (a large photo takes a noticeable fraction of a
/// second): async callers should use [`process_async`].
pub fn process(bytes: &[u8], limits: &PhotoLimits) -> Result<Processed, PhotoError> {
    processed(&decode_square(bytes, limits, limits.size)?)
}

/// [`process`] up to the encoding: the checks, the decode, which way is up,
/// the centre square, resized to `side`×`side` (generated photos start here).
pub(crate) fn decode_square(bytes: &[u8], limits: &PhotoLimits, side: u32) -> Result<RgbImage, PhotoError> {
    if bytes.len() > limits.max_bytes {
        return Err(PhotoError::TooLarge { bytes: bytes.len(), max: limits.max_bytes });
    }
    if side == 0 {
        return Err(PhotoError::Internal("the configured photo size is 0".into()));
    }
    let format = sniff(bytes).ok_or(PhotoError::Unsupported)?;

    // PNG and GIF keep their size at a fixed offset, so a bomb is refused even
    // when the rest of the file is missing and a decoder could not be built.
    if let Some((width, height)) = fixed_header_dimensions(format, bytes) {
        check_side(width, height, limits.max_side)?;
    }
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        // The JPEG decoder fills missing scan data with grey rather than
        // failing, which would store a half-grey photo without a word.
        return Err(PhotoError::Corrupt("the file ends before the image does".into()));
    }

    let (dimensions, orientation) = read_header(bytes, format, limits.max_side)?;
    // The centred square (the shorter side), so the face in the middle of a
    // portrait or landscape shot survives, already reduced while decoding;
    // turning it upright afterwards keeps it the centre square.
    let mut square = DynamicImage::ImageRgb8(stream::reduced_square(bytes, format, dimensions, side)?);
    square.apply_orientation(orientation);
    Ok(resize_square(&square.into_rgb8(), side))
}

/// A square as the photo the store keeps: JPEG at [`JPEG_QUALITY`].
pub(crate) fn processed(square: &RgbImage) -> Result<Processed, PhotoError> {
    let mut out = Vec::with_capacity(64 * 1024);
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(square)
        .map_err(|e| PhotoError::Internal(format!("encoding the JPEG failed: {e}")))?;
    Ok(Processed { bytes: out, mime: "image/jpeg", side: square.width() })
}

/// [`process`] on tokio's blocking pool, so a big photo does not stall the
/// websocket or other members' work, after waiting its turn at `gate` (the
/// turn is kept until the decode ends, even if the caller stops waiting).
pub async fn process_async(bytes: Vec<u8>, limits: PhotoLimits, gate: &PhotoGate) -> Result<Processed, PhotoError> {
    let turn = gate.enter().await.ok_or_else(|| PhotoError::Internal("the image gate is closed".into()))?;
    tokio::task::spawn_blocking(move || {
        let processed = process(&bytes, &limits);
        drop(turn);
        processed
    })
    .await
    .map_err(|e| PhotoError::Internal(format!("the image worker stopped: {e}")))?
}

/// Reads the headers only, with the side and memory limits in force: the
/// dimensions as stored and which way is up.
fn read_header(bytes: &[u8], format: ImageFormat, max_side: u32) -> Result<((u32, u32), Orientation), PhotoError> {
    let mut strict = image::Limits::default();
    strict.max_alloc = Some(MAX_ALLOC);
    strict.max_image_width = Some(max_side);
    strict.max_image_height = Some(max_side);

    // Built without the side limits first: the decoder would then refuse an
    // oversized image with a bare "limit exceeded", and the member deserves
    // to hear the actual dimensions. Building a decoder reads headers only.
    let mut headers_only = image::Limits::default();
    headers_only.max_alloc = Some(MAX_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(headers_only);
    let mut decoder = reader.into_decoder().map_err(|e| from_image_error(e, (0, 0), max_side))?;

    let (width, height) = decoder.dimensions();
    check_side(width, height, max_side)?;
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt("it has no pixels".into()));
    }
    decoder.set_limits(strict.clone()).map_err(|e| from_image_error(e, (width, height), max_side))?;
    strict.reserve(decoder.total_bytes()).map_err(|e| from_image_error(e, (width, height), max_side))?;

    // Unreadable metadata should not cost the member their photo; it only
    // means we cannot tell which way is up, so leave it as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    Ok(((width, height), orientation))
}

/// Scales a square image to `size`×`size`, up or down.
///
/// Catmull-Rom rather than Lanczos3: it is about as sharp at these ratios but
/// has a narrower kernel (2 taps a side instead of 3), so it is a third cheaper
/// on a Raspberry Pi and rings less around hard edges, which matters when a
/// 100 px icon is blown up to 512 (Slack wants 512–1024 px photos).
fn resize_square<I: GenericImageView<Pixel = Rgb<u8>>>(square: &I, size: u32) -> RgbImage {
    if square.width() > size.saturating_mul(2) {
        // A separable filter costs in proportion to the reduction ratio, so an
        // 8192 px photo would take seconds; a fast area average down to twice
        // the target first, then Catmull-Rom for the last step, looks the same.
        let halfway: RgbImage = imageops::thumbnail(square, size * 2, size * 2);
        return imageops::resize(&halfway, size, size, FilterType::CatmullRom);
    }
    imageops::resize(square, size, size, FilterType::CatmullRom)
}

fn check_side(width: u32, height: u32, max: u32) -> Result<(), PhotoError> {
    if width > max || height > max {
        return Err(PhotoError::Dimensions { width, height, max });
    }
    Ok(())
}

/// The canvas size for formats that store it at a fixed offset near the
/// start; `None` when the header is too short to say.
fn fixed_header_dimensions(format: ImageFormat, bytes: &[u8]) -> Option<(u32, u32)> {
    match format {
        // Signature (8), then the IHDR chunk, which the PNG spec puts first:
        // length 13, "IHDR", width and height big-endian.
        ImageFormat::Png if bytes.get(8..16)? == b"\0\0\0\x0dIHDR" => {
            let width = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
            let height = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
            Some((width, height))
        }
        // "GIF89a", then the logical screen width and height, little-endian.
        ImageFormat::Gif => {
            let width = u16::from_le_bytes(bytes.get(6..8)?.try_into().ok()?);
            let height = u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?);
            Some((u32::from(width), u32::from(height)))
        }
        _ => None,
    }
}

/// Walks the JPEG marker structure and reports whether an end-of-image marker
/// is reached. Segments are skipped by their declared length, so an EXIF
/// thumbnail's own end marker does not count, and anything after the end
/// marker (phones append motion-photo video there) is ignored.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    walk_jpeg(bytes, |_, _| ())
}

/// [`jpeg_is_complete`]'s walk, handing `visit` each segment that has a
/// length (its marker and payload) on the way.
fn walk_jpeg(bytes: &[u8], mut visit: impl FnMut(u8, &[u8])) -> bool {
    let mut i = 2; // past SOI
    while i + 1 < bytes.len() {
        if bytes[i] != 0xFF {
            // Entropy-coded scan data, or stray bytes between segments,
            // which decoders tolerate.
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            // Fill byte before a marker.
            0xFF => i += 1,
            // A stuffed 0xFF inside scan data, restart markers, TEM and a
            // stray SOI: all stand alone, without a length.
            0x00 | 0x01 | 0xD0..=0xD8 => i += 2,
            0xD9 => return true,
            marker => {
                let Some(len) = bytes.get(i + 2..i + 4) else { return false };
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                if len < 2 {
                    return false;
                }
                visit(marker, bytes.get(i + 4..i + 2 + len).unwrap_or_default());
                i += 2 + len;
            }
        }
    }
    false
}

/// What a progressive JPEG's decoder keeps until the last scan: 64 two-byte
/// coefficients for every 8×8 block of every component, at full size (the
/// frame header's sampling factors say how many blocks). 0 without a frame
/// header the walk can read.
fn jpeg_coefficient_bytes(bytes: &[u8]) -> u64 {
    let mut frame: Option<Vec<u8>> = None;
    walk_jpeg(bytes, |marker, payload| {
        // Every SOFn except DHT (C4), JPG (C8) and DAC (CC).
        if frame.is_none() && matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            frame = Some(payload.to_vec());
        }
    });
    let Some(frame) = frame else { return 0 };
    let (Some(dims), Some(&count)) = (frame.get(1..5), frame.get(5)) else { return 0 };
    let (height, width) = (u64::from(u16::from_be_bytes([dims[0], dims[1]])), u64::from(u16::from_be_bytes([dims[2], dims[3]])));
    let sampling: Vec<(u64, u64)> = frame
        .get(6..)
        .unwrap_or_default()
        .chunks_exact(3)
        .take(usize::from(count))
        .map(|c| (u64::from(c[1] >> 4), u64::from(c[1] & 15)))
        .collect();
    let h_max = sampling.iter().map(|s| s.0).max().unwrap_or(1).max(1);
    let v_max = sampling.iter().map(|s| s.1).max().unwrap_or(1).max(1);
    let (mcus_x, mcus_y) = (width.div_ceil(8 * h_max), height.div_ceil(8 * v_max));
    sampling.iter().map(|(h, v)| mcus_x * h * mcus_y * v * 64 * 2).sum()
}

fn from_image_error(e: ImageError, (width, height): (u32, u32), max_side: u32) -> PhotoError {
    match e {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError => PhotoError::Dimensions { width, height, max: max_side },
            LimitErrorKind::InsufficientMemory => PhotoError::Corrupt("it would need more memory to open than any photo should".into()),
            _ => PhotoError::Internal(format!("image limits: {limit}")),
        },
        ImageError::Unsupported(_) => PhotoError::Unsupported,
        ImageError::Encoding(e) => PhotoError::Internal(e.to_string()),
        e @ (ImageError::Decoding(_) | ImageError::Parameter(_) | ImageError::IoError(_)) => PhotoError::Corrupt(short_reason(&e)),
    }
}

/// Decoder messages can be long and technical; a member needs a hint, not a
/// dump, and the full error is logged by whoever handles it.
fn short_reason(e: &ImageError) -> String {
    match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => "the file ends too early".into(),
        e => shorten(e.to_string()),
    }
}

/// A decoder's message cut to a length a member will read.
fn shorten(text: String) -> String {
    const MAX_CHARS: usize = 120;
    if text.chars().count() <= MAX_CHARS {
        text
    } else {
        let mut cut: String = text.chars().take(MAX_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// A file's size, rounded up so that a file one byte over the limit never
/// reads as equal to it.
fn size_over(bytes: usize, max: usize) -> String {
    if max >= MIB || bytes >= MIB {
        let tenths = (bytes as u128 * 10).div_ceil(MIB as u128);
        format!("{}.{} MB", tenths / 10, tenths % 10)
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// A limit, without a pointless ".0" when it is a whole number of MB.
fn size_limit(max: usize) -> String {
    if max >= MIB {
        if max.is_multiple_of(MIB) {
            format!("{} MB", max / MIB)
        } else {
            let tenths = max as u128 * 10 / MIB as u128;
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else {
        format!("{} KB", max / 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::gif::{GifEncoder, Repeat};
    use image::codecs::webp::WebPEncoder;
    use image::{ExtendedColorType, Frame, Rgba, RgbaImage};
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::time::{Duration, Instant};

    // Records the largest single allocation made by the current thread while
    // a test asks for it, to prove a bomb is refused without allocating its
    // pixels. Other threads and tests pass straight through to the system
    // allocator.
    struct Tracking;

    thread_local! {
        static LARGEST: Cell<Option<usize>> = const { Cell::new(None) };
        /// Bytes this thread has allocated and not freed, and the most that was.
        static LIVE: Cell<(isize, isize)> = const { Cell::new((0, 0)) };
    }

    fn note(size: usize) {
        let _ = LARGEST.try_with(|largest| {
            if let Some(seen) = largest.get() {
                largest.set(Some(seen.max(size)));
            }
        });
        live(size as isize);
    }

    fn live(change: isize) {
        let _ = LIVE.try_with(|l| {
            let (now, peak) = l.get();
            let now = now + change;
            l.set((now, peak.max(now)));
        });
    }

    // SAFETY: every method hands its layout and pointer unchanged to `System`, which keeps
    // GlobalAlloc's contract; the bookkeeping around it allocates nothing.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for Tracking {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note(new_size);
            live(-(layout.size() as isize));
            unsafe { System.realloc(ptr, layout, new_size) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            live(-(layout.size() as isize));
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Tracking = Tracking;

    fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
        LARGEST.with(|l| l.set(Some(0)));
        let out = f();
        let largest = LARGEST.with(|l| l.replace(None)).unwrap_or(0);
        (out, largest)
    }

    /// The most `f` had allocated at once on this thread beyond what was live
    /// before it, bytes.
    fn peak_allocated<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let before = LIVE.with(|l| {
            let (now, _) = l.get();
            l.set((now, now));
            now
        });
        let out = f();
        let (_, peak) = LIVE.with(|l| l.get());
        (out, (peak - before).max(0) as usize)
    }

    const RED: Rgb<u8> = Rgb([255, 0, 0]);
    const GREEN: Rgb<u8> = Rgb([0, 200, 0]);
    const BLUE: Rgb<u8> = Rgb([0, 0, 255]);
    const YELLOW: Rgb<u8> = Rgb([230, 220, 40]);
    const MAGENTA: Rgb<u8> = Rgb([200, 40, 200]);
    const CYAN: Rgb<u8> = Rgb([40, 200, 210]);
    const WHITE: Rgb<u8> = Rgb([255, 255, 255]);

    fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).expect("encode test image");
        out.into_inner()
    }

    fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, quality).encode_image(image).expect("encode test jpeg");
        out
    }

    fn output(processed: &Processed) -> RgbImage {
        assert_eq!(processed.mime, "image/jpeg");
        assert_eq!(sniff(&processed.bytes), Some(ImageFormat::Jpeg));
        let image = image::load_from_memory_with_format(&processed.bytes, ImageFormat::Jpeg).expect("output decodes").into_rgb8();
        assert_eq!(image.dimensions(), (processed.side, processed.side));
        image
    }

    fn assert_close(got: Rgb<u8>, want: Rgb<u8>, tolerance: u8, at: &str) {
        let ok = got.0.iter().zip(want.0.iter()).all(|(g, w)| g.abs_diff(*w) <= tolerance);
        assert!(ok, "{at}: got {got:?}, want {want:?} (±{tolerance})");
    }

    /// Four quadrants: top-left, top-right, bottom-left, bottom-right.
    fn quadrants(w: u32, h: u32, colours: [Rgb<u8>; 4]) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| colours[usize::from(y >= h / 2) * 2 + usize::from(x >= w / 2)])
    }

    /// Pseudo-random noise, so a JPEG of it is mostly scan data.
    fn noise(w: u32, h: u32) -> RgbImage {
        let mut state = 0x2545_f491_u32;
        RgbImage::from_fn(w, h, |_, _| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let [a, b, c, _] = state.to_le_bytes();
            Rgb([a, b, c])
        })
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    /// A PNG chunk with its length and CRC.
    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(kind);
        chunk.extend_from_slice(data);
        chunk.extend_from_slice(&crc32(&chunk[4..]).to_be_bytes());
        chunk
    }

    fn ihdr(width: u32, height: u32) -> Vec<u8> {
        let mut data = width.to_be_bytes().to_vec();
        data.extend_from_slice(&height.to_be_bytes());
        data.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, deflate, no interlace
        png_chunk(b"IHDR", &data)
    }

    #[test]
    fn crc32_matches_the_png_crate() {
        let png = encode(DynamicImage::ImageRgb8(RgbImage::new(3, 2)), ImageFormat::Png);
        assert_eq!(&png[8..33], &ihdr_rgb8(3, 2)[..]);
    }

    fn ihdr_rgb8(width: u32, height: u32) -> Vec<u8> {
        let mut data = width.to_be_bytes().to_vec();
        data.extend_from_slice(&height.to_be_bytes());
        data.extend_from_slice(&[8, 2, 0, 0, 0]);
        png_chunk(b"IHDR", &data)
    }

    #[test]
    fn sniffs_magic_bytes_only() {
        let png = encode(DynamicImage::ImageRgb8(RgbImage::new(2, 2)), ImageFormat::Png);
        let gif = encode(DynamicImage::ImageRgba8(RgbaImage::new(2, 2)), ImageFormat::Gif);
        let webp = encode(DynamicImage::ImageRgba8(RgbaImage::new(2, 2)), ImageFormat::WebP);
        assert_eq!(sniff(&jpeg(&RgbImage::new(2, 2), 90)), Some(ImageFormat::Jpeg));
        assert_eq!(sniff(&png), Some(ImageFormat::Png));
        assert_eq!(sniff(&gif), Some(ImageFormat::Gif));
        assert_eq!(sniff(&webp), Some(ImageFormat::WebP));
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\x89PNG"), None);
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"BM\0\0\0\0"), None);
        assert_eq!(sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), None);
        // Formats the decoder knows but the bot does not take, and truncated headers.
        assert_eq!(sniff(b"II*\0\0\0\0\0"), None);
        assert_eq!(sniff(b"\xFF\xD8"), None);
        assert_eq!(sniff(b"GIF8"), None);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEB"), None);
        assert_eq!(sniff(b"just some text"), None);
    }

    #[test]
    fn landscape_png_becomes_its_centre_square() {
        // Left 100 px red and right 100 px blue fall outside the 600 px
        // centre square; the centre has four quadrants so a shifted or
        // mis-scaled crop shows up too.
        let centre = quadrants(600, 600, [GREEN, YELLOW, MAGENTA, CYAN]);
        let source = RgbImage::from_fn(800, 600, |x, y| match x {
            0..100 => RED,
            700.. => BLUE,
            _ => *centre.get_pixel(x - 100, y),
        });
        let processed = process(&encode(DynamicImage::ImageRgb8(source), ImageFormat::Png), &PhotoLimits::default()).unwrap();
        assert_eq!(processed.side, 512);
        let got = output(&processed);

        let want = imageops::resize(&centre, 512, 512, FilterType::CatmullRom);
        for (x, y) in [(0, 0), (511, 0), (0, 511), (511, 511), (5, 128), (506, 128), (128, 5), (384, 506), (200, 200), (300, 300)] {
            assert_close(*got.get_pixel(x, y), *want.get_pixel(x, y), 12, &format!("pixel ({x}, {y})"));
        }
        assert_close(*got.get_pixel(0, 128), GREEN, 12, "left edge is the centre, not the red margin");
        assert_close(*got.get_pixel(511, 384), CYAN, 12, "right edge is the centre, not the blue margin");
        let total: u64 = got.as_raw().iter().zip(want.as_raw()).map(|(g, w)| u64::from(g.abs_diff(*w))).sum();
        let mean = total as f64 / got.as_raw().len() as f64;
        assert!(mean < 2.0, "mean difference from the resized crop is {mean}");
    }

    #[test]
    fn portrait_jpeg_keeps_the_vertical_centre() {
        let source = RgbImage::from_fn(300, 500, |_, y| match y {
            0..100 => RED,
            400.. => BLUE,
            _ => GREEN,
        });
        let got = output(&process(&jpeg(&source, 95), &PhotoLimits::default()).unwrap());
        for (x, y) in [(5, 5), (256, 5), (506, 506), (256, 256)] {
            assert_close(*got.get_pixel(x, y), GREEN, 12, &format!("pixel ({x}, {y})"));
        }
    }

    #[test]
    fn honours_the_configured_size() {
        let source = encode(DynamicImage::ImageRgb8(quadrants(700, 900, [RED, GREEN, BLUE, YELLOW])), ImageFormat::Png);
        let limits = PhotoLimits::from(&crate::config::Images { size: 1024, ..Default::default() });
        assert_eq!(limits, PhotoLimits { size: 1024, ..PhotoLimits::default() });
        let processed = process(&source, &limits).unwrap();
        assert_eq!(processed.side, 1024);
        assert_eq!(output(&processed).dimensions(), (1024, 1024));
    }

    #[test]
    fn upscales_small_images() {
        let source = encode(DynamicImage::ImageRgb8(RgbImage::from_pixel(100, 80, MAGENTA)), ImageFormat::Png);
        let got = output(&process(&source, &PhotoLimits::default()).unwrap());
        assert_eq!(got.dimensions(), (512, 512));
        assert_close(*got.get_pixel(256, 256), MAGENTA, 8, "centre");
    }

    #[test]
    fn downscales_large_images_in_two_steps() {
        // 2000 px is more than twice 512, so the area-average step runs.
        let source = jpeg(&quadrants(2000, 2400, [RED, GREEN, BLUE, YELLOW]), 90);
        let got = output(&process(&source, &PhotoLimits::default()).unwrap());
        assert_close(*got.get_pixel(64, 64), RED, 12, "top left");
        assert_close(*got.get_pixel(448, 64), GREEN, 12, "top right");
        assert_close(*got.get_pixel(64, 448), BLUE, 12, "bottom left");
        assert_close(*got.get_pixel(448, 448), YELLOW, 12, "bottom right");
    }

    /// Inserts an APP1 Exif segment (big-endian TIFF, one IFD entry:
    /// Orientation) straight after SOI.
    fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec(); // header, IFD0 at offset 8
        tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
        tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
        tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
        tiff.extend_from_slice(&1u32.to_be_bytes()); // count
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0]); // value padding
        tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(&tiff);

        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn applies_exif_orientation() {
        let stored = jpeg(&quadrants(64, 64, [RED, GREEN, BLUE, YELLOW]), 95);

        let plain = output(&process(&stored, &PhotoLimits::default()).unwrap());
        assert_close(*plain.get_pixel(40, 40), RED, 16, "control: top left as stored");

        // 6 means "rotate 90° clockwise to display": the stored bottom-left
        // quadrant ends up top left, the stored top-left one top right.
        let rotated = output(&process(&with_exif_orientation(&stored, 6), &PhotoLimits::default()).unwrap());
        assert_close(*rotated.get_pixel(40, 40), BLUE, 16, "top left");
        assert_close(*rotated.get_pixel(470, 40), RED, 16, "top right");
        assert_close(*rotated.get_pixel(470, 470), GREEN, 16, "bottom right");
        assert_close(*rotated.get_pixel(40, 470), YELLOW, 16, "bottom left");
    }

    #[test]
    fn animated_gif_uses_the_first_frame() {
        let mut gif = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut gif);
            encoder.set_repeat(Repeat::Infinite).unwrap();
            let frames = [Rgba([255, 0, 0, 255]), Rgba([0, 0, 255, 255])].map(|c| Frame::new(RgbaImage::from_pixel(40, 30, c)));
            encoder.encode_frames(frames).unwrap();
        }
        assert_eq!(sniff(&gif), Some(ImageFormat::Gif));
        let got = output(&process(&gif, &PhotoLimits::default()).unwrap());
        for (x, y) in [(10, 10), (256, 256), (500, 500)] {
            assert_close(*got.get_pixel(x, y), RED, 8, &format!("pixel ({x}, {y})"));
        }
    }

    #[test]
    fn lossless_webp_with_alpha_is_flattened_onto_white() {
        // Left half opaque blue, right half fully transparent (stored as
        // transparent black, which must not darken the result).
        let source = RgbaImage::from_fn(64, 64, |x, _| if x < 32 { Rgba([0, 0, 255, 255]) } else { Rgba([0, 0, 0, 0]) });
        let mut webp = Vec::new();
        WebPEncoder::new_lossless(&mut webp).encode(source.as_raw(), 64, 64, ExtendedColorType::Rgba8).unwrap();
        assert_eq!(sniff(&webp), Some(ImageFormat::WebP));
        let got = output(&process(&webp, &PhotoLimits::default()).unwrap());
        assert_close(*got.get_pixel(100, 256), BLUE, 12, "opaque half");
        assert_close(*got.get_pixel(400, 256), WHITE, 6, "transparent half");
    }

    #[test]
    fn half_transparent_png_blends_with_white() {
        let source = RgbaImage::from_pixel(20, 20, Rgba([0, 0, 0, 128]));
        let got = output(&process(&encode(DynamicImage::ImageRgba8(source), ImageFormat::Png), &PhotoLimits::default()).unwrap());
        assert_close(*got.get_pixel(256, 256), Rgb([127, 127, 127]), 4, "50% black over white");
    }

    #[test]
    fn refuses_files_that_are_not_images() {
        let text = b"just some notes, saved as photo.png\n".repeat(20);
        assert!(matches!(process(&text, &PhotoLimits::default()), Err(PhotoError::Unsupported)));
        assert!(matches!(process(b"", &PhotoLimits::default()), Err(PhotoError::Unsupported)));
        assert_eq!(PhotoError::Unsupported.to_string(), "That file is not an image I can use: send a JPEG, PNG, GIF or WebP.");
    }

    #[test]
    fn refuses_truncated_jpeg() {
        let whole = jpeg(&noise(256, 256), 90);
        assert!(process(&whole, &PhotoLimits::default()).is_ok());
        let half = &whole[..whole.len() / 2];
        let err = process(half, &PhotoLimits::default()).unwrap_err();
        assert!(matches!(err, PhotoError::Corrupt(_)), "{err:?}");
        assert!(err.to_string().starts_with("That image looks damaged or incomplete ("), "{err}");
        // Only the header survives.
        assert!(matches!(process(&whole[..40], &PhotoLimits::default()), Err(PhotoError::Corrupt(_))));
    }

    #[test]
    fn refuses_other_truncated_formats() {
        let image = DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(noise(128, 128)).into_rgba8());
        for format in [ImageFormat::Png, ImageFormat::Gif, ImageFormat::WebP] {
            let whole = encode(image.clone(), format);
            assert!(process(&whole, &PhotoLimits::default()).is_ok(), "{format:?} whole");
            for cut in [whole.len() / 2, 30] {
                let result = process(&whole[..cut], &PhotoLimits::default());
                assert!(matches!(result, Err(PhotoError::Corrupt(_))), "{format:?} cut at {cut}: {result:?}");
            }
        }
    }

    #[test]
    fn refuses_garbage_after_valid_magic() {
        let mut rng = 7u32;
        for magic in [&b"\xff\xd8\xff"[..], b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x10\0\0\0WEBP"] {
            for len in [0, 1, 10, 100, 5000] {
                let mut bytes = magic.to_vec();
                bytes.extend((0..len).map(|_| {
                    rng = rng.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (rng >> 16) as u8
                }));
                let result = process(&bytes, &PhotoLimits::default());
                assert!(result.is_err(), "{magic:?} + {len} random bytes decoded");
            }
        }
    }

    fn assert_bomb_refused(bytes: &[u8], width: u32, height: u32) {
        let started = Instant::now();
        let (result, largest) = largest_allocation(|| process(bytes, &PhotoLimits::default()));
        let elapsed = started.elapsed();
        match result {
            Err(PhotoError::Dimensions { width: w, height: h, max: 8192 }) => assert_eq!((w, h), (width, height)),
            other => panic!("expected Dimensions, got {other:?}"),
        }
        assert!(largest < 1024 * 1024, "allocated {largest} bytes at once");
        assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    }

    #[test]
    fn refuses_png_bomb_by_its_header() {
        // A real 16×16 PNG whose IHDR is rewritten to 20000×20000.
        let mut png = encode(DynamicImage::ImageRgba8(RgbaImage::new(16, 16)), ImageFormat::Png);
        png.splice(8..33, ihdr(20000, 20000));
        assert_bomb_refused(&png, 20000, 20000);

        // Only the signature and the IHDR, nothing else.
        let mut bare = b"\x89PNG\r\n\x1a\n".to_vec();
        bare.extend(ihdr(20000, 20000));
        assert_bomb_refused(&bare, 20000, 20000);

        // Too tall but narrow is refused as well.
        let mut tall = b"\x89PNG\r\n\x1a\n".to_vec();
        tall.extend(ihdr(100, 9000));
        assert_bomb_refused(&tall, 100, 9000);

        let err = PhotoError::Dimensions { width: 20000, height: 20000, max: 8192 };
        assert_eq!(err.to_string(), "That image is 20000×20000 pixels; photos can be at most 8192 pixels a side.");
    }

    #[test]
    fn refuses_gif_jpeg_and_webp_bombs_by_their_headers() {
        let mut gif = encode(DynamicImage::ImageRgba8(RgbaImage::new(8, 8)), ImageFormat::Gif);
        gif[6..10].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        assert_bomb_refused(&gif, 65535, 65535);

        // JPEG: patch the SOF0 frame header's height and width.
        let mut jpg = jpeg(&RgbImage::new(8, 8), 90);
        let sof = jpg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("baseline JPEG has SOF0");
        jpg[sof + 5..sof + 9].copy_from_slice(&[0x4E, 0x20, 0x4E, 0x20]); // 20000, 20000
        assert_bomb_refused(&jpg, 20000, 20000);

        // Lossless WebP: 14-bit width-1 and height-1 after the 0x2F signature.
        let mut webp = Vec::new();
        WebPEncoder::new_lossless(&mut webp).encode(&[0; 8 * 8 * 4], 8, 8, ExtendedColorType::Rgba8).unwrap();
        assert_eq!(&webp[12..16], b"VP8L");
        let bits = u32::from_le_bytes(webp[21..25].try_into().unwrap());
        let bits = (bits & 0xF000_0000) | (15999 << 14) | 15999; // 16000×16000
        webp[21..25].copy_from_slice(&bits.to_le_bytes());
        assert_bomb_refused(&webp, 16000, 16000);
    }

    /// A `side`² 16-bit RGB PNG (two flat halves, so it compresses to well
    /// under 10 MB), written a row at a time so the test holds no frame.
    fn big_16_bit_png(side: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Sixteen);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().expect("png header");
        let mut stream = writer.stream_writer().expect("png stream");
        // Top half orange-red, bottom half blue, each with a little green.
        let top = [0xFF, 0xFF, 0x40, 0x40, 0, 0].repeat(side as usize);
        let bottom = [0, 0, 0x40, 0x40, 0xFF, 0xFF].repeat(side as usize);
        for y in 0..side {
            std::io::Write::write_all(&mut stream, if y < side / 2 { &top } else { &bottom }).expect("png row");
        }
        stream.finish().expect("png end");
        drop(writer);
        out
    }

    #[test]
    fn a_large_16_bit_png_is_decoded_in_little_memory() {
        // 4096² rather than the 8192² maximum keeps this quick in a debug
        // build; the benchmark (BENCHMARKS.md) measures the maximum.
        let png = big_16_bit_png(4096);
        assert!(png.len() < 10 * MIB, "the test image is {} bytes", png.len());
        // Decoding it whole took 4096² × 6 bytes (100 MB) for the 16-bit
        // frame, then 50 MB more for the 8-bit copy.
        let (result, peak) = peak_allocated(|| process(&png, &PhotoLimits::default()));
        let got = output(&result.expect("a large PNG is accepted"));
        assert!(peak < 40 * MIB, "decoding held {} MB at once", peak / MIB);
        assert_close(*got.get_pixel(256, 64), Rgb([255, 64, 0]), 16, "top half red");
        assert_close(*got.get_pixel(256, 448), Rgb([0, 64, 255]), 16, "bottom half blue");
    }

    #[test]
    fn accepts_images_exactly_at_the_side_limit() {
        let limits = PhotoLimits { max_side: 300, ..PhotoLimits::default() };
        let at = encode(DynamicImage::ImageRgb8(RgbImage::new(300, 200)), ImageFormat::Png);
        assert!(process(&at, &limits).is_ok());
        let over = encode(DynamicImage::ImageRgb8(RgbImage::new(301, 200)), ImageFormat::Png);
        assert!(matches!(process(&over, &limits), Err(PhotoError::Dimensions { width: 301, height: 200, max: 300 })));
        let over_jpeg = jpeg(&RgbImage::new(200, 301), 90);
        assert!(matches!(process(&over_jpeg, &limits), Err(PhotoError::Dimensions { width: 200, height: 301, max: 300 })));
    }

    #[test]
    fn refuses_oversized_files_before_looking_at_them() {
        let big = vec![0u8; 12 * MIB];
        let err = process(&big, &PhotoLimits::default()).unwrap_err();
        assert!(matches!(err, PhotoError::TooLarge { bytes, max } if bytes == 12 * MIB && max == 10 * MIB), "{err:?}");
        assert_eq!(err.to_string(), "That file is 12.0 MB; photos can be at most 10 MB.");

        let just_over = PhotoError::TooLarge { bytes: 10 * MIB + 1, max: 10 * MIB };
        assert_eq!(just_over.to_string(), "That file is 10.1 MB; photos can be at most 10 MB.");
        let small = PhotoError::TooLarge { bytes: 3000, max: 2048 };
        assert_eq!(small.to_string(), "That file is 3 KB; photos can be at most 2 KB.");

        // Exactly at the limit is looked at (and here refused for content).
        let at = vec![0u8; 1000];
        let limits = PhotoLimits { max_bytes: 1000, ..PhotoLimits::default() };
        assert!(matches!(process(&at, &limits), Err(PhotoError::Unsupported)));
    }

    #[test]
    fn jpeg_completeness_ignores_thumbnails_and_trailers() {
        let whole = jpeg(&noise(64, 64), 90);
        assert!(jpeg_is_complete(&whole));
        // An APP1 segment carrying a whole thumbnail JPEG (with its own end
        // marker) does not make a truncated main image look complete.
        let thumb = jpeg(&RgbImage::new(8, 8), 50);
        let mut with_thumb = whole[..2].to_vec();
        with_thumb.extend_from_slice(&[0xFF, 0xE1]);
        with_thumb.extend_from_slice(&(thumb.len() as u16 + 2).to_be_bytes());
        with_thumb.extend_from_slice(&thumb);
        with_thumb.extend_from_slice(&whole[2..]);
        assert!(jpeg_is_complete(&with_thumb));
        assert!(!jpeg_is_complete(&with_thumb[..with_thumb.len() - 100]));
        // Data appended after the end marker (motion photos) is fine.
        let mut trailer = whole.clone();
        trailer.extend_from_slice(b"....ftypmp42 and a video");
        assert!(process(&trailer, &PhotoLimits::default()).is_ok());
    }

    #[test]
    fn processed_debug_is_short() {
        let processed = Processed { bytes: vec![0; 50_000], mime: "image/jpeg", side: 512 };
        assert_eq!(format!("{processed:?}"), r#"Processed { bytes: 50000, mime: "image/jpeg", side: 512 }"#);
    }

    #[tokio::test]
    async fn process_async_runs_off_the_runtime() {
        let source = encode(DynamicImage::ImageRgb8(RgbImage::from_pixel(640, 480, CYAN)), ImageFormat::Png);
        let processed = process_async(source, PhotoLimits::default(), &PhotoGate::new()).await.unwrap();
        assert_eq!(processed.side, 512);
        assert_close(*output(&processed).get_pixel(256, 256), CYAN, 8, "centre");
        assert!(matches!(process_async(b"nope".to_vec(), PhotoLimits::default(), &PhotoGate::new()).await, Err(PhotoError::Unsupported)));
    }
}
