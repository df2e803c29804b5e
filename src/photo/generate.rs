//! Generated preset photos (SPEC, "Preset photos without an upload"): the
//! member's own photo marked for a status, drawn here instead of uploaded.
//!
//! - a **badge**: the photo with the status emoji in a white disc in the
//!   bottom-right corner (disc diameter 40 % of the side, its bounding box
//!   touching the right and bottom edges; the emoji fills 70 % of the disc's
//!   diameter, centred in it);
//! - a **frame**: the photo scaled into the inner square, leaving a band of a
//!   colour one twelfth of the side wide on every edge; with a label, a banner
//!   of that colour across the bottom fifth with the label in white bold
//!   capitals, centred.
//!
//! Everything here is pure and synchronous: [`badge`] and [`frame`] draw into a
//! fresh buffer and return it whole or not at all (a typed [`GenerateError`],
//! never a panic), and [`generate_jpeg`] takes the bytes the store keeps (any
//! photo the pipeline accepts, the emoji's PNG/GIF) to the same JPEG
//! [`Processed`] an upload becomes. The label font is DejaVu Sans Bold cut to
//! Latin (`assets/fonts/`, its licence beside it), embedded in the binary.

use std::fmt;
use std::io::Cursor;
use std::str::FromStr;

use ab_glyph::{point, Font, FontRef, Glyph, GlyphId, PxScale, ScaleFont};
use image::imageops::{self, FilterType};
use image::{ImageReader, Rgb, RgbImage, Rgba, RgbaImage};

use super::{PhotoError, PhotoGate, PhotoLimits, Processed};

/// DejaVu Sans Bold, Latin only (Basic Latin, Latin-1, Latin Extended-A and
/// common punctuation); `assets/fonts/README.md` says how it was cut.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold-Latin.ttf");

/// The sides a generated photo may have (the configured `[images] size` is
/// 512–1024; the rest leaves room for previews and tests).
const SIDES: std::ops::RangeInclusive<u32> = 16..=4096;

/// Longest label, in characters as the member typed them.
pub(crate) const LABEL_MAX_CHARS: usize = 16;

/// Largest emoji image accepted, bytes and pixels a side (Slack's are 64–128 px
/// and a few KB).
const EMOJI_MAX_BYTES: usize = 1024 * 1024;
const EMOJI_MAX_SIDE: u32 = 1024;

const WHITE: Rgb<u8> = Rgb([255, 255, 255]);

/// The named colours SPEC lists, in its order.
const NAMED: [(&str, [u8; 3]); 9] = [
    ("red", [0xD9, 0x30, 0x25]),
    ("orange", [0xF2, 0x8C, 0x28]),
    ("yellow", [0xF2, 0xC7, 0x44]),
    ("green", [0x2E, 0xB6, 0x7D]),
    ("blue", [0x1D, 0x9B, 0xD1]),
    ("purple", [0x7C, 0x3A, 0xED]),
    ("pink", [0xE0, 0x1E, 0x8C]),
    ("grey", [0x8D, 0x8D, 0x8D]),
    ("black", [0x1D, 0x1C, 0x1D]),
];

/// A frame's colour: `#RRGGBB` or one of SPEC's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Colour(pub(crate) [u8; 3]);

/// Why a colour was refused; `Display` is the sentence for the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{0}” is not a colour I know: use #RRGGBB (like #F28C28) or one of red, orange, yellow, green, blue, purple, pink, grey, black.")]
pub struct ColourError(pub(crate) String);

impl Colour {
    /// `#RRGGBB` (either case) or a name (either case), surrounding spaces ignored.
    pub fn parse(text: &str) -> Result<Colour, ColourError> {
        let t = text.trim();
        if let Some(hex) = t.strip_prefix('#') {
            let bytes = hex::decode(hex).ok().and_then(|b| <[u8; 3]>::try_from(b).ok());
            return bytes.map(Colour).ok_or_else(|| ColourError(t.to_string()));
        }
        NAMED.iter().find(|(name, _)| name.eq_ignore_ascii_case(t)).map(|(_, rgb)| Colour(*rgb)).ok_or_else(|| ColourError(t.to_string()))
    }

    /// SPEC's named colours, in its order (for the preset modal's colour select).
    pub fn named() -> impl Iterator<Item = (&'static str, Colour)> {
        NAMED.iter().map(|(name, rgb)| (*name, Colour(*rgb)))
    }

    /// The name, if this is one of the named colours.
    pub fn name(&self) -> Option<&'static str> {
        NAMED.iter().find(|(_, rgb)| *rgb == self.0).map(|(name, _)| *name)
    }

    pub(crate) fn rgb(&self) -> Rgb<u8> {
        Rgb(self.0)
    }
}

/// The name when it has one, else `#RRGGBB` (upper case): what `parse` reads back.
impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "#{}", hex::encode_upper(self.0)),
        }
    }
}

impl From<Colour> for String {
    fn from(c: Colour) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for Colour {
    type Error = ColourError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Colour::parse(&s)
    }
}

impl FromStr for Colour {
    type Err = ColourError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Colour::parse(s)
    }
}

/// A frame's label: 1–16 characters, upper-cased, every one drawable with the font.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Label(String);

/// Why a label was refused; `Display` is the sentence for the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("A frame label needs at least one character.")]
    Empty,
    #[error("A frame label can be at most {LABEL_MAX_CHARS} characters; that one has {0}.")]
    TooLong(usize),
    #[error("I can't draw {} in a frame label (the font has no such letter): use Latin letters, digits and punctuation.", quoted(.0))]
    MissingGlyphs(Vec<char>),
    #[error("The label font cannot be read ({0}).")]
    Font(String),
}

fn quoted(chars: &[char]) -> String {
    chars.iter().map(|c| if c.is_control() { format!("“{}”", c.escape_unicode()) } else { format!("“{c}”") }).collect::<Vec<_>>().join(", ")
}

impl Label {
    /// Trims, counts (1–16 characters), upper-cases, and checks that the font
    /// has a glyph for every character (asked of the font itself).
    pub fn parse(text: &str) -> Result<Label, LabelError> {
        let t = text.trim();
        match t.chars().count() {
            0 => return Err(LabelError::Empty),
            n if n > LABEL_MAX_CHARS => return Err(LabelError::TooLong(n)),
            _ => {}
        }
        let upper = t.to_uppercase();
        let font = font().map_err(|e| LabelError::Font(e.to_string()))?;
        let mut missing: Vec<char> = Vec::new();
        for c in upper.chars() {
            // Control characters map to the font's empty glyphs; a label is one line.
            if (c.is_control() || font.glyph_id(c) == GlyphId(0)) && !missing.contains(&c) {
                missing.push(c);
            }
        }
        if missing.is_empty() {
            Ok(Label(upper))
        } else {
            Err(LabelError::MissingGlyphs(missing))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Label> for String {
    fn from(l: Label) -> String {
        l.0
    }
}

impl TryFrom<String> for Label {
    type Error = LabelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Label::parse(&s)
    }
}

impl FromStr for Label {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Label::parse(s)
    }
}

/// Which photo to generate (stored with a preset as `{"kind":"badge"}` or
/// `{"kind":"frame","colour":"orange","label":"OOO"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Design {
    /// The status emoji pinned to the bottom-right corner.
    Badge,
    /// A band of colour, with an optional label banner.
    Frame {
        colour: Colour,
        #[serde(default)]
        label: Option<Label>,
    },
}

/// Why a photo could not be generated. Nothing is drawn when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The member's own photo could not be read.
    #[error("the photo to start from cannot be used: {0}")]
    Photo(#[from] PhotoError),
    /// A badge needs the status emoji's image and there is none.
    #[error("the status emoji's image is not available")]
    NoEmoji,
    #[error("the status emoji's image cannot be used ({0})")]
    Emoji(String),
    #[error("the {0} has no pixels")]
    NoPixels(&'static str),
    #[error("generated photos are {}–{} pixels a side, not {size}", SIDES.start(), SIDES.end())]
    Size { size: u32 },
    #[error("the label font cannot be read ({0})")]
    Font(String),
}

fn font() -> Result<FontRef<'static>, ab_glyph::InvalidFont> {
    // Parsing reads table offsets only, so it is done per use rather than kept in a static.
    FontRef::try_from_slice(FONT)
}

fn check_side(size: u32) -> Result<(), GenerateError> {
    if SIDES.contains(&size) {
        Ok(())
    } else {
        Err(GenerateError::Size { size })
    }
}

/// The width of a frame's band: one twelfth of the side, to the nearest pixel.
pub(crate) fn band_width(size: u32) -> u32 {
    (size as f32 / 12.0).round() as u32
}

/// The height of a frame's label banner: one fifth of the side, to the nearest pixel.
pub(crate) fn banner_height(size: u32) -> u32 {
    (size as f32 / 5.0).round() as u32
}

/// The side of the photo inside a frame's band.
fn inner_side(size: u32) -> u32 {
    size - 2 * band_width(size)
}

/// The centre square of `base` at `side`×`side`, as the photo pipeline crops it.
fn square_of(base: &RgbImage, side: u32) -> Result<RgbImage, GenerateError> {
    if base.width().min(base.height()) == 0 {
        return Err(GenerateError::NoPixels("photo"));
    }
    let reduced = reduced_centre(base, side);
    if reduced.width() == side {
        return Ok(reduced);
    }
    Ok(super::resize_square(&reduced, side))
}

/// The centre square of `base`, box-averaged by the largest whole factor that
/// keeps it at least `side` (what `reduce` does while a photo is decoded), so
/// the filter that follows scales by less than 2: a 1024 px photo to 512 is
/// one exact 2×2 average instead of a Catmull-Rom pass over every pixel.
fn reduced_centre(base: &RgbImage, side: u32) -> RgbImage {
    let short = base.width().min(base.height());
    let factor = (short / side.max(1)).max(1);
    let grid = short / factor;
    let used = grid * factor;
    let (left, top) = ((base.width() - used) / 2, (base.height() - used) / 2);
    if factor == 1 {
        return imageops::crop_imm(base, left, top, used, used).to_image();
    }
    let mut sums = vec![[0u32; 3]; (grid as usize) * (grid as usize)];
    let stride = base.width() as usize * 3;
    for y in 0..used {
        let start = (top + y) as usize * stride + left as usize * 3;
        let Some(row) = base.as_raw().get(start..start + used as usize * 3) else { continue };
        let cells = &mut sums[(y / factor) as usize * grid as usize..][..grid as usize];
        for (x, pixel) in row.chunks_exact(3).enumerate() {
            let cell = &mut cells[x / factor as usize];
            for (sum, &c) in cell.iter_mut().zip(pixel) {
                *sum += u32::from(c);
            }
        }
    }
    let area = factor * factor;
    RgbImage::from_fn(grid, grid, |x, y| Rgb(sums[(y * grid + x) as usize].map(|s| ((s + area / 2) / area) as u8)))
}

/// The member's photo at `size`×`size` with `emoji` in a white disc in the
/// bottom-right corner (SPEC: diameter 40 % of the side, bounding box on the
/// right and bottom edges, emoji 70 % of the diameter, centred).
pub fn badge(base: &RgbImage, emoji: &RgbaImage, size: u32) -> Result<RgbImage, GenerateError> {
    check_side(size)?;
    if emoji.width() == 0 || emoji.height() == 0 {
        return Err(GenerateError::NoPixels("emoji image"));
    }
    let mut out = square_of(base, size)?;
    let diameter = 0.4 * size as f32;
    let disc = Disc { centre: size as f32 - diameter / 2.0, radius: diameter / 2.0 };
    disc.fill(&mut out);

    // Fit the emoji's longer side to 70 % of the diameter, keeping its shape.
    let fit = 0.7 * diameter;
    let longer = emoji.width().max(emoji.height()) as f32;
    let w = ((emoji.width() as f32 * fit / longer).round() as u32).max(1);
    let h = ((emoji.height() as f32 * fit / longer).round() as u32).max(1);
    let scaled = premultiplied_resize(emoji, w, h);
    let left = (disc.centre - w as f32 / 2.0).round() as u32;
    let top = (disc.centre - h as f32 / 2.0).round() as u32;
    for (x, y, p) in scaled.enumerate_pixels() {
        let (px, py) = (left + x, top + y);
        if px < size && py < size {
            disc.blend_premultiplied(&mut out, px, py, p.0);
        }
    }
    Ok(out)
}

/// A disc whose centre sits on the diagonal (the badge's is in the corner).
struct Disc {
    centre: f32,
    radius: f32,
}

impl Disc {
    /// How much of pixel (x, y) the disc covers, 0–1: distance from the pixel's
    /// centre to the rim, one pixel of ramp, so the edge is anti-aliased.
    fn coverage(&self, x: u32, y: u32) -> f32 {
        let (dx, dy) = (x as f32 + 0.5 - self.centre, y as f32 + 0.5 - self.centre);
        (self.radius - (dx * dx + dy * dy).sqrt() + 0.5).clamp(0.0, 1.0)
    }

    fn fill(&self, img: &mut RgbImage) {
        let first = (self.centre - self.radius - 1.0).floor().max(0.0) as u32;
        let last = ((self.centre + self.radius + 1.0).ceil() as u32).min(img.width().min(img.height()));
        for y in first..last {
            for x in first..last {
                let cover = self.coverage(x, y);
                if cover > 0.0 {
                    let p = img.get_pixel_mut(x, y);
                    p.0 = std::array::from_fn(|i| mix(p.0[i], 255, cover));
                }
            }
        }
    }

    /// Lays a premultiplied RGBA pixel over (x, y), clipped to the disc.
    fn blend_premultiplied(&self, img: &mut RgbImage, x: u32, y: u32, src: [u8; 4]) {
        let cover = self.coverage(x, y);
        let alpha = f32::from(src[3]) / 255.0 * cover;
        if alpha <= 0.0 {
            return;
        }
        let p = img.get_pixel_mut(x, y);
        p.0 = std::array::from_fn(|i| {
            // A resampled premultiplied channel can overshoot its alpha; clamp it.
            let colour = f32::from(src[i].min(src[3])) * cover;
            (colour + f32::from(p.0[i]) * (1.0 - alpha)).round().clamp(0.0, 255.0) as u8
        });
    }
}

fn mix(under: u8, over: u8, amount: f32) -> u8 {
    (f32::from(under) + (f32::from(over) - f32::from(under)) * amount).round().clamp(0.0, 255.0) as u8
}

/// Premultiplies, then resizes: resampling straight alpha would pull the colour
/// of transparent pixels (often black) into the emoji's edge as a dark fringe.
fn premultiplied_resize(emoji: &RgbaImage, w: u32, h: u32) -> RgbaImage {
    let pre = RgbaImage::from_fn(emoji.width(), emoji.height(), |x, y| {
        let [r, g, b, a] = emoji.get_pixel(x, y).0;
        let m = |c: u8| ((u16::from(c) * u16::from(a) + 127) / 255) as u8;
        Rgba([m(r), m(g), m(b), a])
    });
    if pre.width() > w.saturating_mul(2) && pre.height() > h.saturating_mul(2) {
        let halfway = imageops::thumbnail(&pre, w * 2, h * 2);
        return imageops::resize(&halfway, w, h, FilterType::CatmullRom);
    }
    imageops::resize(&pre, w, h, FilterType::CatmullRom)
}

/// The member's photo in a band of `colour` one twelfth of the side wide, and
/// with `label`, a banner of `colour` over the bottom fifth with the label in
/// white bold capitals, centred and scaled down to fit the width.
pub fn frame(base: &RgbImage, colour: Colour, label: Option<&Label>, size: u32) -> Result<RgbImage, GenerateError> {
    check_side(size)?;
    let font = font().map_err(|e| GenerateError::Font(e.to_string()))?;
    let band = band_width(size);
    let photo = square_of(base, inner_side(size))?;
    let mut out = RgbImage::from_pixel(size, size, colour.rgb());
    imageops::replace(&mut out, &photo, i64::from(band), i64::from(band));
    if let Some(label) = label {
        let top = size - banner_height(size);
        for y in top..size {
            for x in 0..size {
                out.put_pixel(x, y, colour.rgb());
            }
        }
        draw_label(&mut out, &font, label.as_str(), top);
    }
    Ok(out)
}

/// Where the label's ink would fall with the baseline's start at the origin.
struct Ink {
    min_x: f32,
    max_x: f32,
    min_y: f32,
    max_y: f32,
}

/// The glyphs of one line at `scale`, the first starting at (`x`, `y`) on the baseline.
fn layout(font: &FontRef<'_>, scale: PxScale, text: &str, (x, y): (f32, f32)) -> Vec<Glyph> {
    let scaled = font.as_scaled(scale);
    let mut caret = x;
    let mut previous: Option<GlyphId> = None;
    text.chars()
        .map(|c| {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(scale, point(caret, y));
            caret += scaled.h_advance(id);
            previous = Some(id);
            glyph
        })
        .collect()
}

/// The exact (unrounded) box of the glyphs' outlines, in pixels, y down.
fn ink(font: &FontRef<'_>, glyphs: &[Glyph]) -> Option<Ink> {
    let mut ink: Option<Ink> = None;
    for g in glyphs {
        let Some(outline) = font.outline(g.id) else { continue };
        let factor = font.as_scaled(g.scale).scale_factor();
        let b = outline.bounds;
        let (x0, x1) = (g.position.x + b.min.x * factor.horizontal, g.position.x + b.max.x * factor.horizontal);
        // ab_glyph keeps the outline's top (y up, font units) in `min.y`.
        let (y0, y1) = (g.position.y - b.min.y * factor.vertical, g.position.y - b.max.y * factor.vertical);
        ink = Some(match ink {
            None => Ink { min_x: x0, max_x: x1, min_y: y0, max_y: y1 },
            Some(i) => Ink { min_x: i.min_x.min(x0), max_x: i.max_x.max(x1), min_y: i.min_y.min(y0), max_y: i.max_y.max(y1) },
        });
    }
    ink
}

/// The label in white, centred on the banner that starts at row `top`: capitals
/// half the banner's height, scaled down until the line fits between the bands.
fn draw_label(out: &mut RgbImage, font: &FontRef<'_>, text: &str, top: u32) {
    let size = out.width();
    let banner = (size - top) as f32;
    let cap_units = font.outline(font.glyph_id('H')).map(|o| (o.bounds.min.y - o.bounds.max.y).abs()).unwrap_or(font.ascent_unscaled());
    let mut scale = PxScale::from(0.5 * banner * font.height_unscaled() / cap_units.max(1.0));
    let room = (size - 2 * band_width(size)) as f32;
    let Some(first) = ink(font, &layout(font, scale, text, (0.0, 0.0))) else { return };
    let width = first.max_x - first.min_x;
    if width > room {
        scale = PxScale::from(scale.y * room / width);
    }
    let Some(at) = ink(font, &layout(font, scale, text, (0.0, 0.0))) else { return };
    let dx = size as f32 / 2.0 - (at.min_x + at.max_x) / 2.0;
    let dy = top as f32 + banner / 2.0 - (at.min_y + at.max_y) / 2.0;
    for glyph in layout(font, scale, text, (dx, dy)) {
        let Some(outlined) = font.outline_glyph(glyph) else { continue };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, cover| {
            let (x, y) = (bounds.min.x as i64 + i64::from(gx), bounds.min.y as i64 + i64::from(gy));
            if let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) {
                if x < size && y < out.height() {
                    let p = out.get_pixel_mut(x, y);
                    p.0 = std::array::from_fn(|i| mix(p.0[i], WHITE.0[i], cover.min(1.0)));
                }
            }
        });
    }
}

/// Reads an emoji image (PNG, GIF's first frame, JPEG or WebP) with its alpha,
/// inside the emoji limits.
pub(crate) fn decode_emoji(bytes: &[u8]) -> Result<RgbaImage, GenerateError> {
    if bytes.len() > EMOJI_MAX_BYTES {
        return Err(GenerateError::Emoji(format!("{} bytes, more than an emoji image should be", bytes.len())));
    }
    let format = super::sniff(bytes).ok_or_else(|| GenerateError::Emoji("not an image".into()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(EMOJI_MAX_SIDE);
    limits.max_image_height = Some(EMOJI_MAX_SIDE);
    limits.max_alloc = Some(64 * 1024 * 1024);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| GenerateError::Emoji(super::shorten(e.to_string())))?;
    Ok(image.into_rgba8())
}

/// Renders `design` from the member's photo (any image the pipeline accepts,
/// e.g. the stored baseline JPEG) and, for a badge, the emoji's image, to a
/// `limits.size` JPEG like an uploaded preset photo.
///
/// CPU-bound: async callers use [`generate_async`].
pub fn generate_jpeg(design: &Design, base: &[u8], emoji: Option<&[u8]>, limits: &PhotoLimits) -> Result<Processed, GenerateError> {
    let size = limits.size;
    check_side(size)?;
    let image = match design {
        Design::Badge => {
            let emoji = decode_emoji(emoji.ok_or(GenerateError::NoEmoji)?)?;
            badge(&super::decode_square(base, limits, size)?, &emoji, size)?
        }
        // Decoded straight to the inner square, so the photo is resampled once.
        Design::Frame { colour, label } => frame(&super::decode_square(base, limits, inner_side(size))?, *colour, label.as_ref(), size)?,
    };
    Ok(super::processed(&image)?)
}

/// [`generate_jpeg`] on tokio's blocking pool, after waiting its turn at
/// `gate` like an upload's decode.
pub async fn generate_async(
    design: Design,
    base: Vec<u8>,
    emoji: Option<Vec<u8>>,
    limits: PhotoLimits,
    gate: &PhotoGate,
) -> Result<Processed, GenerateError> {
    let closed = || GenerateError::Photo(PhotoError::Internal("the image gate is closed".into()));
    let turn = gate.enter().await.ok_or_else(closed)?;
    tokio::task::spawn_blocking(move || {
        let generated = generate_jpeg(&design, &base, emoji.as_deref(), &limits);
        drop(turn);
        generated
    })
    .await
    .map_err(|e| GenerateError::Photo(PhotoError::Internal(format!("the image worker stopped: {e}"))))?
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: u32 = 512;
    const PHOTO: Rgb<u8> = Rgb([20, 60, 140]);
    const EMOJI: Rgba<u8> = Rgba([230, 20, 20, 255]);

    fn solid(side: u32, colour: Rgb<u8>) -> RgbImage {
        RgbImage::from_pixel(side, side, colour)
    }

    fn close(got: Rgb<u8>, want: Rgb<u8>, tolerance: u8) -> bool {
        got.0.iter().zip(want.0).all(|(g, w)| g.abs_diff(w) <= tolerance)
    }

    #[track_caller]
    fn assert_colour(img: &RgbImage, (x, y): (u32, u32), want: Rgb<u8>, tolerance: u8) {
        let got = *img.get_pixel(x, y);
        assert!(close(got, want, tolerance), "({x}, {y}) is {got:?}, expected {want:?}");
    }

    fn is_white(p: &Rgb<u8>) -> bool {
        p.0.iter().all(|&c| c >= 245)
    }

    /// The box holding every white pixel of rows `rows`: (min x, max x, min y, max y, count).
    fn white_box(img: &RgbImage, rows: std::ops::Range<u32>) -> Option<(u32, u32, u32, u32, usize)> {
        let mut found: Option<(u32, u32, u32, u32, usize)> = None;
        for y in rows {
            for x in 0..img.width() {
                if is_white(img.get_pixel(x, y)) {
                    found = Some(match found {
                        None => (x, x, y, y, 1),
                        Some((x0, x1, y0, y1, n)) => (x0.min(x), x1.max(x), y0.min(y), y1.max(y), n + 1),
                    });
                }
            }
        }
        found
    }

    #[test]
    fn colours_by_name_and_hex() {
        // SPEC's list, as it is written there.
        let spec = "red #D93025, orange #F28C28, yellow #F2C744, green #2EB67D, blue #1D9BD1, purple #7C3AED, pink #E01E8C, grey #8D8D8D, black #1D1C1D";
        for entry in spec.split(", ") {
            let (name, hex) = entry.split_once(' ').unwrap();
            let rgb = Colour::parse(hex).unwrap();
            assert_eq!(rgb.0, [0, 2, 4].map(|i| u8::from_str_radix(&hex[1 + i..3 + i], 16).unwrap()), "{hex}");
            assert_eq!(Colour::parse(name), Ok(rgb), "{name}");
            assert_eq!(Colour::parse(&name.to_uppercase()), Ok(rgb), "{name} in capitals");
            assert_eq!(rgb.to_string(), name, "a named colour reads back as its name");
        }
        assert_eq!(Colour::named().count(), 9);
        assert_eq!(Colour::parse("#1d9bd1"), Ok(Colour([0x1D, 0x9B, 0xD1])));
        assert_eq!(Colour::parse(" #AbCdEf "), Ok(Colour([0xAB, 0xCD, 0xEF])));
        assert_eq!(Colour([0xAB, 0xCD, 0xEF]).to_string(), "#ABCDEF");
        for bad in ["teal", "", "#12345", "#1234567", "#GGGGGG", "123456", "#", "red!"] {
            let e = Colour::parse(bad).expect_err(bad);
            let sentence = e.to_string();
            assert!(
                sentence.contains("#RRGGBB") && sentence.contains("orange") && sentence.contains("grey") && sentence.contains("black"),
                "{sentence}"
            );
        }
    }

    #[test]
    fn labels_are_upper_cased_and_limited_to_sixteen_drawable_characters() {
        assert_eq!(Label::parse("ooo").map(|l| l.to_string()), Ok("OOO".to_string()));
        assert_eq!(Label::parse("  on leave ").map(|l| l.to_string()), Ok("ON LEAVE".to_string()));
        assert_eq!(Label::parse("été, 50 % off!").map(|l| l.to_string()), Ok("ÉTÉ, 50 % OFF!".to_string()));
        assert!(Label::parse(&"x".repeat(16)).is_ok());
        assert_eq!(Label::parse(&"x".repeat(17)), Err(LabelError::TooLong(17)));
        assert_eq!(Label::parse("ééééééééééééééééé"), Err(LabelError::TooLong(17)), "characters, not bytes");
        assert_eq!(Label::parse(""), Err(LabelError::Empty));
        assert_eq!(Label::parse("   "), Err(LabelError::Empty));
        assert!(LabelError::TooLong(17).to_string().contains("16"));
    }

    #[test]
    fn a_label_the_font_cannot_draw_is_refused_naming_the_characters() {
        let e = Label::parse("休暇 ok").expect_err("CJK is not in the font");
        assert_eq!(e, LabelError::MissingGlyphs(vec!['休', '暇']));
        assert!(e.to_string().contains("“休”, “暇”"), "{e}");
        assert_eq!(Label::parse("away 🌴"), Err(LabelError::MissingGlyphs(vec!['🌴'])));
        assert_eq!(Label::parse("Ωmega"), Err(LabelError::MissingGlyphs(vec!['Ω'])), "the font is cut to Latin");
        assert!(matches!(Label::parse("a\tb"), Err(LabelError::MissingGlyphs(_))), "a label is one line");
    }

    /// Points at the middle of the band on every edge and in every corner.
    fn band_points(size: u32) -> Vec<(u32, u32)> {
        let mid = band_width(size) / 2;
        let (far, half) = (size - 1 - mid, size / 2);
        vec![
            (mid, mid),
            (half, mid),
            (far, mid),
            (mid, half),
            (far, half),
            (mid, far),
            (half, far),
            (far, far),
            (0, 0),
            (size - 1, size - 1),
        ]
    }

    #[test]
    fn a_frame_is_a_band_of_its_colour_one_twelfth_wide_on_every_edge() {
        let orange = Colour::parse("orange").unwrap();
        let out = frame(&solid(1024, PHOTO), orange, None, SIZE).unwrap();
        assert_eq!(out.dimensions(), (SIZE, SIZE));
        let band = band_width(SIZE);
        assert!((42..=43).contains(&band), "512 / 12 = 42.7");
        for p in band_points(SIZE) {
            assert_colour(&out, p, orange.rgb(), 0);
        }
        // The band's inner edge, and the photo right inside it.
        for (x, y) in [(band - 1, SIZE / 2), (SIZE - band, SIZE / 2), (SIZE / 2, band - 1), (SIZE / 2, SIZE - band)] {
            assert_colour(&out, (x, y), orange.rgb(), 0);
        }
        for (x, y) in [(band, band), (band + 1, SIZE / 2), (SIZE - band - 1, SIZE - band - 1), (SIZE / 2, SIZE / 2)] {
            assert_colour(&out, (x, y), PHOTO, 0);
        }
        let with_hex = frame(&solid(300, PHOTO), Colour::parse("#123456").unwrap(), None, 1024).unwrap();
        for p in band_points(1024) {
            assert_colour(&with_hex, p, Rgb([0x12, 0x34, 0x56]), 0);
        }
    }

    #[test]
    fn the_photo_fills_the_inner_square_centre_cropped_and_never_the_band() {
        // A landscape photo: quadrants of four colours in its centre square,
        // magenta strips left and right that the crop must drop.
        let (tl, tr, bl, br) = (Rgb([200, 30, 30]), Rgb([30, 200, 30]), Rgb([30, 30, 200]), Rgb([200, 200, 30]));
        let magenta = Rgb([255, 0, 255]);
        let base = RgbImage::from_fn(1536, 1024, |x, y| match (x, y) {
            (x, _) if !(256..1280).contains(&x) => magenta,
            (x, y) if x < 768 && y < 512 => tl,
            (_, y) if y < 512 => tr,
            (x, _) if x < 768 => bl,
            _ => br,
        });
        let green = Colour::parse("green").unwrap();
        let out = frame(&base, green, None, SIZE).unwrap();
        let band = band_width(SIZE);
        let (near, far) = (band + 20, SIZE - band - 20);
        assert_colour(&out, (near, near), tl, 2);
        assert_colour(&out, (far, near), tr, 2);
        assert_colour(&out, (near, far), bl, 2);
        assert_colour(&out, (far, far), br, 2);
        for (x, y, p) in out.enumerate_pixels() {
            let in_band = x < band || y < band || x >= SIZE - band || y >= SIZE - band;
            if in_band {
                assert_eq!(*p, green.rgb(), "({x}, {y}) is in the band");
            } else {
                assert!(!close(*p, magenta, 60), "({x}, {y}): the part outside the centre square shows");
            }
        }
    }

    #[test]
    fn a_label_is_a_banner_over_the_bottom_fifth_with_white_text_centred() {
        let purple = Colour::parse("purple").unwrap();
        let label = Label::parse("ooo").unwrap();
        let out = frame(&solid(1024, PHOTO), purple, Some(&label), SIZE).unwrap();
        let top = SIZE - banner_height(SIZE);
        assert!((102..=103).contains(&(SIZE - top)), "512 / 5 = 102.4");
        // The banner covers the photo across the whole width; above it the photo shows.
        for (x, y) in [
            (2, top + 2),
            (band_width(SIZE) + 5, top + 3),
            (SIZE / 2, top + 1),
            (SIZE - band_width(SIZE) - 5, SIZE - 3),
            (SIZE - 1, SIZE - 1),
        ] {
            assert_colour(&out, (x, y), purple.rgb(), 0);
        }
        assert_colour(&out, (SIZE / 2, top - 3), PHOTO, 0);
        assert_colour(&out, (SIZE / 2, band_width(SIZE) / 2), purple.rgb(), 0);
        // White text, only inside the banner, centred both ways.
        assert!(white_box(&out, 0..top).is_none(), "no white above the banner");
        let (x0, x1, y0, y1, count) = white_box(&out, top..SIZE).expect("white text in the banner");
        assert!(count > 500, "a bold label draws many white pixels, not {count}");
        let (cx, cy) = ((x0 + x1) as f32 / 2.0, (y0 + y1) as f32 / 2.0);
        assert!((cx - SIZE as f32 / 2.0).abs() <= 2.0, "horizontal centre {cx}");
        assert!((cy - (top as f32 + (SIZE - top) as f32 / 2.0)).abs() <= 2.0, "vertical centre {cy}");
        assert!(y0 > top + 5 && y1 < SIZE - 5, "the text stays inside the banner ({y0}..{y1})");
        // Capitals: the same label typed in lower case draws the same picture.
        let upper = frame(&solid(1024, PHOTO), purple, Some(&Label::parse("OOO").unwrap()), SIZE).unwrap();
        assert!(upper == out);
    }

    #[test]
    fn a_long_label_is_scaled_down_to_fit_the_width_with_a_margin() {
        let black = Colour::parse("black").unwrap();
        for text in ["WWWWWWWWWWWWWWWW", "i", "ÉTÉ ÇA VA"] {
            let out = frame(&solid(600, PHOTO), black, Some(&Label::parse(text).unwrap()), SIZE).unwrap();
            let top = SIZE - banner_height(SIZE);
            let (x0, x1, y0, y1, _) = white_box(&out, top..SIZE).expect(text);
            let band = band_width(SIZE);
            assert!(x0 >= band - 1 && x1 <= SIZE - band, "{text}: {x0}..{x1} within the margins");
            assert!(y0 > top && y1 < SIZE - 1, "{text}: {y0}..{y1} inside the banner");
            assert!(((x0 + x1) as f32 / 2.0 - SIZE as f32 / 2.0).abs() <= 2.0, "{text}: centred");
        }
    }

    #[test]
    fn a_larger_photo_is_averaged_down_not_sampled() {
        // One-pixel stripes average to their mean at even reductions; sampling would alias.
        let stripes = RgbImage::from_fn(1100, 1030, |x, _| if x % 2 == 0 { Rgb([200, 0, 100]) } else { Rgb([0, 200, 100]) });
        for side in [512, 426, 257] {
            let out = square_of(&stripes, side).unwrap();
            assert_eq!(out.dimensions(), (side, side));
            for (x, y) in [(0, 0), (side / 2, side / 3), (side - 1, side - 1)] {
                assert_colour(&out, (x, y), Rgb([100, 100, 100]), 2);
            }
        }
    }

    /// The badge's disc: centre (both axes) and radius, in pixels.
    fn disc(size: u32) -> (f32, f32) {
        let d = 0.4 * size as f32;
        (size as f32 - d / 2.0, d / 2.0)
    }

    fn at(centre: f32, offset: f32) -> u32 {
        (centre + offset).floor() as u32
    }

    #[test]
    fn a_badge_is_a_white_disc_in_the_corner_with_the_emoji_at_its_centre() {
        let emoji = RgbaImage::from_pixel(72, 72, EMOJI);
        let out = badge(&solid(1024, PHOTO), &emoji, SIZE).unwrap();
        assert_eq!(out.dimensions(), (SIZE, SIZE));
        let (c, r) = disc(SIZE);
        let red = Rgb([EMOJI[0], EMOJI[1], EMOJI[2]]);
        assert_colour(&out, (at(c, 0.0), at(c, 0.0)), red, 0);
        // The emoji spans 70 % of the diameter: inside ±0.33 d of the centre it shows.
        for (dx, dy) in [(-0.9, 0.0), (0.9, 0.0), (0.0, -0.9), (0.0, 0.9), (-0.9, -0.9), (0.9, 0.9)] {
            assert_colour(&out, (at(c, dx * 0.7 * r), at(c, dy * 0.7 * r)), red, 0);
        }
        // The ring between the emoji and the rim is white.
        for (dx, dy) in [(-0.85, 0.0), (0.85, 0.0), (0.0, -0.85), (0.0, 0.85), (-0.9, 0.0), (0.0, 0.93)] {
            assert_colour(&out, (at(c, dx * r), at(c, dy * r)), WHITE, 0);
        }
        // The bounding box touches the right and bottom edges…
        assert_colour(&out, (SIZE - 1, at(c, 0.0)), WHITE, 0);
        assert_colour(&out, (at(c, 0.0), SIZE - 1), WHITE, 0);
        // …and starts 40 % of the side from them.
        assert_colour(&out, (at(c, -r - 1.5), at(c, 0.0)), PHOTO, 0);
        assert_colour(&out, (at(c, 0.0), at(c, -r - 1.5)), PHOTO, 0);
        assert_colour(&out, (at(c, -r + 1.5), at(c, 0.0)), WHITE, 0);
        assert_colour(&out, (at(c, 0.0), at(c, -r + 1.5)), WHITE, 0);
        // The photo is untouched outside the disc; the rim is anti-aliased.
        let mut rim = 0;
        for (x, y, p) in out.enumerate_pixels() {
            let d = ((x as f32 + 0.5 - c).powi(2) + (y as f32 + 0.5 - c).powi(2)).sqrt();
            if d > r + 0.5 {
                assert_eq!(*p, PHOTO, "({x}, {y}) is outside the disc");
            } else if d > r - 0.5 && *p != PHOTO && *p != WHITE {
                rim += 1;
            }
        }
        assert!(rim > 100, "the rim blends photo and white ({rim} pixels)");
    }

    #[test]
    fn a_badge_emoji_keeps_its_shape_and_its_transparency() {
        // A wide emoji, its left half transparent black: white (not a dark
        // fringe, not black) shows where it is transparent.
        let emoji = RgbaImage::from_fn(100, 50, |x, _| if x < 50 { Rgba([0, 0, 0, 0]) } else { EMOJI });
        let out = badge(&solid(700, PHOTO), &emoji, SIZE).unwrap();
        let (c, r) = disc(SIZE);
        let red = Rgb([EMOJI[0], EMOJI[1], EMOJI[2]]);
        assert_colour(&out, (at(c, 0.6 * r), at(c, 0.0)), red, 0);
        assert_colour(&out, (at(c, -0.6 * r), at(c, 0.0)), WHITE, 0);
        // 70 % of the diameter is its width; its height is half that.
        assert_colour(&out, (at(c, 0.3 * r), at(c, 0.3 * r)), red, 0);
        assert_colour(&out, (at(c, 0.3 * r), at(c, 0.45 * r)), WHITE, 0);
        // Along the middle row every pixel lies between white and the emoji's red, channel by channel.
        for x in at(c, -r + 2.0)..at(c, r - 2.0) {
            let p = out.get_pixel(x, at(c, 0.0));
            assert!(
                p.0.iter().zip(red.0).all(|(&v, e)| u16::from(v) + 2 >= u16::from(e)),
                "({x}): {p:?} is darker than both white and the emoji"
            );
        }
    }

    #[test]
    fn sizes_and_empty_images_are_refused_without_a_panic() {
        let photo = solid(64, PHOTO);
        let emoji = RgbaImage::from_pixel(8, 8, EMOJI);
        assert!(matches!(badge(&photo, &emoji, 0), Err(GenerateError::Size { size: 0 })));
        assert!(matches!(frame(&photo, Colour([0, 0, 0]), None, 100_000), Err(GenerateError::Size { size: 100_000 })));
        assert!(matches!(badge(&RgbImage::new(0, 0), &emoji, SIZE), Err(GenerateError::NoPixels(_))));
        assert!(matches!(badge(&photo, &RgbaImage::new(0, 5), SIZE), Err(GenerateError::NoPixels(_))));
        assert!(matches!(frame(&RgbImage::new(10, 0), Colour([0, 0, 0]), None, SIZE), Err(GenerateError::NoPixels(_))));
        // Tiny and odd sizes draw whole pictures.
        let label = Label::parse("away").unwrap();
        for size in [16, 17, 511, 1024] {
            assert_eq!(badge(&photo, &emoji, size).unwrap().dimensions(), (size, size));
            assert_eq!(frame(&photo, Colour([9, 9, 9]), Some(&label), size).unwrap().dimensions(), (size, size));
        }
    }

    fn jpeg_of(image: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92).encode_image(image).unwrap();
        out
    }

    fn png_of(image: &RgbaImage) -> Vec<u8> {
        let mut out = Vec::new();
        image.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn generated_photos_are_stored_jpegs_of_the_configured_size() {
        let limits = PhotoLimits { size: 640, ..PhotoLimits::default() };
        let base = jpeg_of(&solid(1024, PHOTO));
        let emoji = png_of(&RgbaImage::from_pixel(64, 64, EMOJI));
        let badge = generate_jpeg(&Design::Badge, &base, Some(&emoji), &limits).unwrap();
        assert_eq!((badge.mime, badge.side), ("image/jpeg", 640));
        let img = image::load_from_memory(&badge.bytes).unwrap().into_rgb8();
        assert_eq!(img.dimensions(), (640, 640));
        let (c, r) = disc(640);
        assert_colour(&img, (at(c, 0.0), at(c, 0.0)), Rgb([EMOJI[0], EMOJI[1], EMOJI[2]]), 12);
        assert_colour(&img, (at(c, 0.0), at(c, 0.85 * r)), WHITE, 12);
        assert_colour(&img, (40, 40), PHOTO, 12);

        let pink = Colour::parse("pink").unwrap();
        let design = Design::Frame { colour: pink, label: Some(Label::parse("ooo").unwrap()) };
        let framed = generate_jpeg(&design, &base, None, &limits).unwrap();
        let img = image::load_from_memory(&framed.bytes).unwrap().into_rgb8();
        // (The bottom band is under the banner, where the text's JPEG ringing reaches.)
        for p in band_points(640).into_iter().filter(|p| p.1 < 640 - banner_height(640)) {
            assert_colour(&img, p, pink.rgb(), 12);
        }
        assert_colour(&img, (320, 300), PHOTO, 12);
        assert!(white_box(&img, 640 - banner_height(640)..640).is_some());
    }

    #[test]
    fn unusable_inputs_are_typed_errors() {
        let limits = PhotoLimits::default();
        let base = jpeg_of(&solid(256, PHOTO));
        let emoji = png_of(&RgbaImage::from_pixel(64, 64, EMOJI));
        assert!(matches!(generate_jpeg(&Design::Badge, &base, None, &limits), Err(GenerateError::NoEmoji)));
        assert!(matches!(generate_jpeg(&Design::Badge, &base, Some(b"not an image"), &limits), Err(GenerateError::Emoji(_))));
        assert!(matches!(generate_jpeg(&Design::Badge, &emoji[..40], Some(&emoji), &limits), Err(GenerateError::Photo(_))));
        assert!(matches!(generate_jpeg(&Design::Badge, &base, Some(&emoji[..60]), &limits), Err(GenerateError::Emoji(_))));
        let huge = png_of(&RgbaImage::new(2000, 10));
        assert!(matches!(generate_jpeg(&Design::Badge, &base, Some(&huge), &limits), Err(GenerateError::Emoji(_))));
        let frame = Design::Frame { colour: Colour([1, 2, 3]), label: None };
        assert!(matches!(generate_jpeg(&frame, b"", None, &limits), Err(GenerateError::Photo(PhotoError::Unsupported))));
        assert!(generate_jpeg(&frame, &emoji, None, &limits).is_ok(), "a PNG (even with alpha) is a photo too");
    }

    #[tokio::test]
    async fn generate_async_waits_its_turn_and_runs_off_the_runtime() {
        let gate = PhotoGate::new();
        let base = jpeg_of(&solid(300, PHOTO));
        let design = Design::Frame { colour: Colour::parse("blue").unwrap(), label: None };
        let done = generate_async(design, base, None, PhotoLimits::default(), &gate).await.unwrap();
        assert_eq!(done.side, 512);
    }

    /// A synthetic member photo: a face on a soft background (no external image).
    fn sample_photo(side: u32) -> RgbImage {
        let s = side as f32;
        RgbImage::from_fn(side, side, |x, y| {
            let (fx, fy) = (x as f32 / s, y as f32 / s);
            let face = ((fx - 0.5).powi(2) / 0.06 + (fy - 0.42).powi(2) / 0.09) < 1.0;
            let body = (fx - 0.5).powi(2) + (fy - 1.15).powi(2) < 0.2;
            let eye = ((fx - 0.41).powi(2) + (fy - 0.38).powi(2)).min((fx - 0.59).powi(2) + (fy - 0.38).powi(2)) < 0.0012;
            let smile = ((fx - 0.5).powi(2) + (fy - 0.47).powi(2)).sqrt();
            let mouth = (0.09..0.11).contains(&smile) && fy > 0.5;
            match () {
                _ if eye || (face && mouth) => Rgb([60, 40, 40]),
                _ if face => Rgb([241, 194, 160]),
                _ if body => Rgb([52, 92, 150]),
                _ => Rgb([(150.0 + 60.0 * fy) as u8, (200.0 - 30.0 * fx) as u8, 220]),
            }
        })
    }

    /// A synthetic emoji: a palm tree's sun, a yellow disc with rays, on transparency.
    fn sample_emoji(side: u32) -> RgbaImage {
        let s = side as f32;
        RgbaImage::from_fn(side, side, |x, y| {
            let (dx, dy) = (x as f32 / s - 0.5, y as f32 / s - 0.5);
            let d = (dx * dx + dy * dy).sqrt();
            let ray = (dy.atan2(dx) * 4.0).cos() > 0.6 && d < 0.5;
            match () {
                _ if d < 0.3 => Rgba([250, 190, 30, 255]),
                _ if ray && d > 0.34 => Rgba([245, 140, 20, 255]),
                _ => Rgba([0, 0, 0, 0]),
            }
        })
    }

    /// Regenerates the README's picture: `cargo test --lib regenerate_docs_picture -- --ignored`.
    #[test]
    #[ignore = "writes docs/presets-without-upload.png"]
    fn regenerate_docs_picture() {
        const SIDE: u32 = 256;
        const GAP: u32 = 16;
        let photo = sample_photo(1024);
        let left = badge(&photo, &sample_emoji(128), SIDE).unwrap();
        let label = Label::parse("ooo").unwrap();
        let right = frame(&photo, Colour::parse("orange").unwrap(), Some(&label), SIDE).unwrap();
        let mut sheet = RgbImage::from_pixel(2 * SIDE + GAP, SIDE, WHITE);
        imageops::replace(&mut sheet, &left, 0, 0);
        imageops::replace(&mut sheet, &right, i64::from(SIDE + GAP), 0);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/presets-without-upload.png");
        sheet.save(&path).unwrap();
    }
}
