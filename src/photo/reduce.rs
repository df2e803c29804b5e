//! The streaming reducer: a decoder hands it rows (whole, or the sparse rows
//! of an interlaced pass, in any order) and it keeps only the centre square,
//! box-averaged down to at most twice the stored size. No full-resolution
//! frame is ever held: the memory is the output grid, a few MB.

use image::{Rgb, RgbImage};

/// How the decoder lays out one pixel of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
    /// 16-bit big-endian grey (lossless JPEG); the high byte is kept.
    Gray16,
    /// CMYK from a JPEG, converted as `image` 0.24 did with this decoder.
    Cmyk,
}

impl Layout {
    pub(crate) fn bytes(self) -> usize {
        match self {
            Layout::Gray => 1,
            Layout::GrayAlpha | Layout::Gray16 => 2,
            Layout::Rgb => 3,
            Layout::Rgba | Layout::Cmyk => 4,
        }
    }
}

/// Accumulates the centre square of a `width`×`height` image into
/// `side`×`side` cells of `factor`×`factor` source pixels each.
pub(crate) struct Reducer {
    factor: u32,
    side: u32,
    /// Source column → cell column, or `u32::MAX` outside the square.
    column_cell: Vec<u32>,
    top: u32,
    /// Per cell and channel: 255 × factor² minus how far each pixel seen so
    /// far falls short of white. Starting at white means a pixel the image
    /// never sets (outside a GIF's first frame) counts as white, as a
    /// transparent one does.
    sums: Vec<[u32; 3]>,
}

impl Reducer {
    /// `target` is the stored size: the grid is the largest whole-factor
    /// reduction of the centre square that is still at most twice `target`
    /// (or the square itself when it is already that small).
    pub(crate) fn new(width: u32, height: u32, target: u32) -> Reducer {
        let short = width.min(height).max(1);
        let twice = target.saturating_mul(2).max(1);
        let factor = if short > twice { short.div_ceil(twice) } else { 1 };
        let side = short / factor;
        // Up to factor-1 pixels of the square are dropped, split between the
        // edges, so every cell is whole.
        let used = side * factor;
        let left = (width.saturating_sub(used)) / 2;
        let top = (height.saturating_sub(used)) / 2;
        let column_cell = (0..width).map(|x| if x < left || x >= left + used { u32::MAX } else { (x - left) / factor }).collect();
        let white = 255 * factor * factor;
        Reducer { factor, side, column_cell, top, sums: vec![[white; 3]; (side as usize) * (side as usize)] }
    }

    /// Side of the grid [`Reducer::finish`] returns.
    #[cfg(test)]
    pub(crate) fn side(&self) -> u32 {
        self.side
    }

    /// One decoded row `y`: its pixels stand at columns `x0`, `x0 + step`, …
    /// (`x0 = 0, step = 1` for an ordinary row).
    pub(crate) fn row(&mut self, y: u32, x0: u32, step: u32, data: &[u8], layout: Layout) {
        let Some(band) = y.checked_sub(self.top).map(|d| d / self.factor).filter(|b| *b < self.side) else { return };
        let base = band as usize * self.side as usize;
        match layout {
            Layout::Gray => self.add(base, x0, step, data, 1, |p| [p[0]; 3]),
            Layout::GrayAlpha => self.add(base, x0, step, data, 2, |p| [over_white(p[0], p[1]); 3]),
            Layout::Rgb => self.add(base, x0, step, data, 3, |p| [p[0], p[1], p[2]]),
            Layout::Rgba => self.add(base, x0, step, data, 4, |p| [p[0], p[1], p[2]].map(|c| over_white(c, p[3]))),
            Layout::Gray16 => self.add(base, x0, step, data, 2, |p| [p[0]; 3]),
            Layout::Cmyk => self.add(base, x0, step, data, 4, |p| [p[0], p[1], p[2]].map(|c| mul255(255 - c, 255 - p[3]))),
        }
    }

    #[inline(always)]
    fn add(&mut self, base: usize, x0: u32, step: u32, data: &[u8], bytes: usize, rgb: impl Fn(&[u8]) -> [u8; 3]) {
        let mut x = x0 as usize;
        for pixel in data.chunks_exact(bytes) {
            let Some(&cell) = self.column_cell.get(x) else { return };
            x += step as usize;
            if cell == u32::MAX {
                continue;
            }
            if let Some(sum) = self.sums.get_mut(base + cell as usize) {
                for (s, c) in sum.iter_mut().zip(rgb(pixel)) {
                    *s = s.saturating_sub(u32::from(255 - c));
                }
            }
        }
    }

    /// The averaged grid.
    pub(crate) fn finish(self) -> RgbImage {
        let area = self.factor * self.factor;
        let mut out = RgbImage::new(self.side, self.side);
        for (pixel, sum) in out.pixels_mut().zip(&self.sums) {
            *pixel = Rgb(sum.map(|s| ((s + area / 2) / area).min(255) as u8));
        }
        out
    }
}

/// A colour channel composited onto white by its alpha.
fn over_white(c: u8, a: u8) -> u8 {
    let a = u32::from(a);
    ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8
}

/// `a × b / 255`, rounded: (1 − C) × (1 − K) and so on.
fn mul255(a: u8, b: u8) -> u8 {
    ((u32::from(a) * u32::from(b) + 127) / 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_whole_cells_of_the_centre_square() {
        // 10×6 with target 1: square 6, factor 3, grid 2×2, columns 2..8.
        let mut r = Reducer::new(10, 6, 1);
        assert_eq!(r.side(), 2);
        for y in 0..6 {
            let row: Vec<u8> = (0..10).map(|x| if x < 5 { 0 } else { 200 }).collect();
            r.row(y, 0, 1, &row, Layout::Gray);
        }
        let img = r.finish();
        assert_eq!(img.get_pixel(0, 0).0, [0; 3]);
        assert_eq!(img.get_pixel(1, 1).0, [200; 3]);
    }

    #[test]
    fn sparse_rows_in_any_order_add_up_and_unset_pixels_are_white() {
        let mut r = Reducer::new(4, 4, 2);
        assert_eq!(r.side(), 4);
        r.row(3, 1, 2, &[0, 0, 0, 0, 0, 0], Layout::Rgb);
        r.row(0, 0, 1, &[10, 20, 30, 40], Layout::Gray);
        let img = r.finish();
        assert_eq!(img.get_pixel(1, 3).0, [0; 3]);
        assert_eq!(img.get_pixel(3, 3).0, [0; 3]);
        assert_eq!(img.get_pixel(2, 3).0, [255; 3]);
        assert_eq!(img.get_pixel(3, 0).0, [40; 3]);
    }
}
