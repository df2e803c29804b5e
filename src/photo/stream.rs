//! Decoding without a full-resolution frame: each format's decoder feeds the
//! [`Reducer`] row by row (PNG and GIF), or decodes at a reduced DCT scale
//! (JPEG), so an 8192² photo costs a few MB instead of hundreds. What still
//! needs a whole frame (WebP; a progressive JPEG's coefficients) is charged
//! bytes per pixel against [`DECODE_BUDGET`] and refused past it.

use std::io::Cursor;
use std::num::NonZeroU64;

use image::{DynamicImage, ImageDecoder, ImageFormat, RgbImage};

use super::reduce::{Layout, Reducer};
use super::PhotoError;

/// The most one decode may hold beyond the file itself, bytes. With one
/// decode at a time (`gate`), it bounds the pipeline's memory.
pub(crate) const DECODE_BUDGET: u64 = 96 * 1024 * 1024;

/// The centre square of a `width`×`height` image (as stored, before any EXIF
/// turn), reduced to at most twice `target` a side.
pub(crate) fn reduced_square(bytes: &[u8], format: ImageFormat, (width, height): (u32, u32), target: u32) -> Result<RgbImage, PhotoError> {
    match format {
        ImageFormat::Png => png(bytes, target),
        ImageFormat::Jpeg => jpeg(bytes, (width, height), target),
        ImageFormat::Gif => gif(bytes, target),
        _ => webp(bytes, (width, height), target),
    }
}

/// Refuses a decode that would hold more than [`DECODE_BUDGET`].
fn charge(needed: u64, (width, height): (u32, u32), format: &'static str) -> Result<(), PhotoError> {
    if needed > DECODE_BUDGET {
        return Err(PhotoError::TooManyPixels { width, height, format, megapixels: needed_megapixels(needed, width, height) });
    }
    Ok(())
}

/// The largest pixel count of this kind of image that fits the budget, in
/// whole megapixels: what the member is told they may send.
fn needed_megapixels(needed: u64, width: u32, height: u32) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    (DECODE_BUDGET * pixels / needed.max(1)) / 1_000_000
}

fn png(bytes: &[u8], target: u32) -> Result<RgbImage, PhotoError> {
    let limits = png::Limits { bytes: DECODE_BUDGET as usize };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    // 16-bit samples are cut to 8 and palettes expanded as each row is read.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (width, height, interlaced) = (reader.info().width, reader.info().height, reader.info().interlaced);
    let layout = match reader.output_color_type() {
        (png::ColorType::Grayscale, png::BitDepth::Eight) => Layout::Gray,
        (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight) => Layout::GrayAlpha,
        (png::ColorType::Rgb, png::BitDepth::Eight) => Layout::Rgb,
        (png::ColorType::Rgba, png::BitDepth::Eight) => Layout::Rgba,
        other => return Err(PhotoError::Internal(format!("the PNG decoder gave {other:?} pixels"))),
    };
    let mut reducer = Reducer::new(width, height, target);
    let mut positions = png_rows(width, height, interlaced);
    while let Some(row) = reader.next_interlaced_row().map_err(png_error)? {
        let Some((pass, y, x0, step)) = positions.next() else { return Err(PhotoError::Corrupt("it has more rows than it says".into())) };
        if let (Some(pass), png::InterlaceInfo::Adam7(info)) = (pass, row.interlace()) {
            if *info != png::Adam7Info::new(pass.0, pass.1, width) {
                return Err(PhotoError::Internal("the PNG decoder's interlace passes are out of step".into()));
            }
        }
        reducer.row(y, x0, step, row.data(), layout);
    }
    Ok(reducer.finish())
}

/// Where a row the PNG decoder returns stands: the Adam7 pass and line (if
/// interlaced), then its y, first x and x step.
type RowPosition = (Option<(u8, u32)>, u32, u32, u32);

/// The [`RowPosition`] of each row, in the order the decoder returns them.
fn png_rows(width: u32, height: u32, interlaced: bool) -> Box<dyn Iterator<Item = RowPosition>> {
    if !interlaced {
        return Box::new((0..height).map(|y| (None, y, 0, 1)));
    }
    // (x step, x offset, y step, y offset) of passes 1 to 7.
    const PASSES: [(u32, u32, u32, u32); 7] =
        [(8, 0, 8, 0), (8, 4, 8, 0), (4, 0, 8, 4), (4, 2, 4, 0), (2, 0, 4, 2), (2, 1, 2, 0), (1, 0, 2, 1)];
    Box::new(PASSES.into_iter().zip(1u8..).filter(move |((_, xo, _, _), _)| width > *xo).flat_map(move |((xs, xo, ys, yo), pass)| {
        (yo..height).step_by(ys as usize).enumerate().map(move |(line, y)| (Some((pass, line as u32)), y, xo, xs))
    }))
}

fn jpeg(bytes: &[u8], (width, height): (u32, u32), target: u32) -> Result<RgbImage, PhotoError> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(DECODE_BUDGET as usize);
    decoder.read_info().map_err(jpeg_error)?;
    let info = decoder.info().ok_or_else(|| PhotoError::Corrupt("it has no image header".into()))?;
    // The DCT can scale by 1/2, 1/4 or 1/8 for free: pick the smallest that
    // keeps the short side at least the stored size.
    let request = u16::try_from(target).unwrap_or(u16::MAX);
    let (w, h) = if width <= height { (request, u16::MAX) } else { (u16::MAX, request) };
    let (w, h) = decoder.scale(w, h).map_err(jpeg_error)?;
    let (w, h) = (u32::from(w), u32::from(h));
    let bpp = info.pixel_format.pixel_bytes() as u64;
    // The decoder holds each component plane and the output at the scaled
    // size, and a progressive JPEG's coefficients at full size.
    let coefficients =
        if info.coding_process == jpeg_decoder::CodingProcess::DctProgressive { super::jpeg_coefficient_bytes(bytes) } else { 0 };
    charge(coefficients + 2 * u64::from(w) * u64::from(h) * bpp, (width, height), "progressive JPEG")?;
    let pixels = decoder.decode().map_err(jpeg_error)?;
    let layout = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => Layout::Gray,
        jpeg_decoder::PixelFormat::L16 => Layout::Gray16,
        jpeg_decoder::PixelFormat::RGB24 => Layout::Rgb,
        jpeg_decoder::PixelFormat::CMYK32 => Layout::Cmyk,
    };
    let mut reducer = Reducer::new(w, h, target);
    for (y, row) in pixels.chunks_exact((w as usize * layout.bytes()).max(1)).take(h as usize).enumerate() {
        reducer.row(y as u32, 0, 1, row, layout);
    }
    Ok(reducer.finish())
}

fn gif(bytes: &[u8], target: u32) -> Result<RgbImage, PhotoError> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    if let Some(limit) = NonZeroU64::new(DECODE_BUDGET) {
        options.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    }
    let mut decoder = options.read_info(Cursor::new(bytes)).map_err(gif_error)?;
    let mut reducer = Reducer::new(u32::from(decoder.width()), u32::from(decoder.height()), target);
    let frame = decoder.next_frame_info().map_err(gif_error)?.ok_or_else(|| PhotoError::Corrupt("it has no frames".into()))?;
    let (left, top, width, height, interlaced) = (u32::from(frame.left), u32::from(frame.top), frame.width, frame.height, frame.interlaced);
    let mut line = vec![0u8; usize::from(width) * 4];
    // The first frame onto an empty (transparent, so white) canvas, as the
    // `image` crate draws it; `fill_buffer` gives rows as stored.
    for stored in 0..u32::from(if width == 0 { 0 } else { height }) {
        if !decoder.fill_buffer(&mut line).map_err(gif_error)? {
            return Err(PhotoError::Corrupt("the file ends too early".into()));
        }
        let y = if interlaced { gif_interlaced_row(stored, u32::from(height)) } else { stored };
        reducer.row(top + y, left, 1, &line, Layout::Rgba);
    }
    Ok(reducer.finish())
}

/// The row a GIF's `stored`-th interlaced line belongs on: every 8th from 0,
/// every 8th from 4, every 4th from 2, then every 2nd from 1.
fn gif_interlaced_row(stored: u32, height: u32) -> u32 {
    let mut index = stored;
    for (step, start) in [(8, 0), (8, 4), (4, 2), (2, 1)] {
        let lines = height.saturating_sub(start).div_ceil(step);
        if index < lines {
            return start + index * step;
        }
        index -= lines;
    }
    height
}

fn webp(bytes: &[u8], (width, height): (u32, u32), target: u32) -> Result<RgbImage, PhotoError> {
    let decoder =
        image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| super::from_image_error(e, (width, height), u32::MAX))?;
    // WebP cannot be read a row at a time: the decoder fills a whole frame
    // (3 or 4 bytes a pixel) and keeps its own planes (up to 2 more).
    let pixels = u64::from(width) * u64::from(height);
    charge(decoder.total_bytes() + 2 * pixels, (width, height), "WebP")?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| super::from_image_error(e, (width, height), u32::MAX))?;
    let (layout, bpp) = if image.color().has_alpha() { (Layout::Rgba, 4) } else { (Layout::Rgb, 3) };
    let image = if bpp == 4 { DynamicImage::ImageRgba8(image.into_rgba8()) } else { DynamicImage::ImageRgb8(image.into_rgb8()) };
    let mut reducer = Reducer::new(image.width(), image.height(), target);
    for (y, row) in image.as_bytes().chunks_exact((image.width() as usize * bpp).max(1)).enumerate() {
        reducer.row(y as u32, 0, 1, row, layout);
    }
    Ok(reducer.finish())
}

fn png_error(e: png::DecodingError) -> PhotoError {
    match e {
        png::DecodingError::LimitsExceeded => PhotoError::Corrupt("it would need more memory to open than any photo should".into()),
        png::DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Corrupt("the file ends too early".into())
        }
        e => PhotoError::Corrupt(super::shorten(e.to_string())),
    }
}

fn jpeg_error(e: jpeg_decoder::Error) -> PhotoError {
    match e {
        jpeg_decoder::Error::Unsupported(_) => PhotoError::Unsupported,
        jpeg_decoder::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Corrupt("the file ends too early".into())
        }
        e => PhotoError::Corrupt(super::shorten(e.to_string())),
    }
}

fn gif_error(e: gif::DecodingError) -> PhotoError {
    match e {
        gif::DecodingError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Corrupt("the file ends too early".into())
        }
        e => PhotoError::Corrupt(super::shorten(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interlaced_gif_rows_cover_every_row_once() {
        for height in [1, 2, 5, 8, 9, 17] {
            let mut rows: Vec<u32> = (0..height).map(|i| gif_interlaced_row(i, height)).collect();
            rows.sort_unstable();
            assert_eq!(rows, (0..height).collect::<Vec<_>>(), "height {height}");
        }
    }

    #[test]
    fn adam7_rows_cover_every_pixel_once() {
        for (w, h) in [(1, 1), (3, 2), (8, 8), (13, 7)] {
            let mut seen = vec![0u32; (w * h) as usize];
            for (_, y, x0, step) in png_rows(w, h, true) {
                for x in (x0..w).step_by(step as usize) {
                    seen[(y * w + x) as usize] += 1;
                }
            }
            assert!(seen.iter().all(|n| *n == 1), "{w}×{h}: {seen:?}");
        }
    }
}
