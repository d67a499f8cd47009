//! PNG previews of an image plane for operators: `annotate-qa --previews DIR`
//! writes one per image, because an operator judges an image faster by
//! looking at it than by reading its numbers.
//!
//! # What a preview shows
//! * **Size.** The plane is shrunk by an integer factor
//!   `f = ceil(max(nx, ny) / max_size)` so its longest side is at most
//!   [`PreviewOptions::max_size`] (default 1024) pixels; a plane that already
//!   fits is shown pixel for pixel. Each preview pixel is the mean of the finite
//!   pixels of its `f x f` block (blocks at the right and top edges may be
//!   smaller); a block without any finite pixel stays NaN. The preview is
//!   `ceil(nx / f)` x `ceil(ny / f)` pixels.
//! * **Orientation.** FITS pixel `y = 0` is the bottom row of the PNG (north up
//!   and east left for the usual RA/Dec images), `x = 0` the left column.
//! * **Grey levels** (8-bit, `r = g = b`), from the shrunk image's finite pixels:
//!   * [`Stretch::Asinh`] (default): with `m` the median and `s` the robust noise
//!     (1.4826 x median absolute deviation from `m`), the limits are
//!     `lo = m - 2 s` and `hi` = the maximum; `t = clamp((v - lo) / (hi - lo), 0, 1)`
//!     and the grey level is `255 * asinh(t / a) / asinh(1 / a)` rounded, with the
//!     softening `a = s / (hi - lo)`, so noise stays visible as texture (the
//!     median is drawn at about 15 % grey) while bright sources are compressed
//!     logarithmically up to the peak, drawn white. Without noise (`s = 0`)
//!     `lo` is the minimum and `a = 0.1`.
//!   * [`Stretch::Zscale`]: linear between the limits of [`zscale_limits`] (IRAF's
//!     zscale with contrast 0.25), clipped.
//!   * A constant image is drawn mid-grey (128).
//! * **NaN** (no finite pixel in the block): [`PreviewOptions::nan_rgb`]
//!   (default dark blue `0,0,96`), never a grey.
//! * **Peak marker**: a ring of radius `clamp(longest side / 64, 5, 24)` pixels
//!   around the preview pixel holding the given peak, with four short ticks
//!   outside it, in [`PreviewOptions::marker_rgb`] (default red); the peak pixel
//!   itself and the ring's inside are left showing the data.
//!
//! The PNG (RGB, 8 bits per channel) is written atomically with
//! [`vlass_cli::write_atomic`]. The output is deterministic: the same plane and
//! options give the same bytes (no threads, no time stamps in the PNG).

use std::fmt;
use std::path::{Path, PathBuf};

use ndarray::ArrayView2;

/// How pixel values are mapped to grey levels (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stretch {
    /// asinh stretch from 2 robust sigma below the median up to the peak.
    #[default]
    Asinh,
    /// IRAF zscale limits, linear between them.
    Zscale,
}

/// Options of [`write_preview`].
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewOptions {
    /// Longest side of the PNG in pixels (default 1024, at least 1).
    pub max_size: usize,
    /// Grey-level mapping (default asinh).
    pub stretch: Stretch,
    /// Colour of pixels without a finite value (default dark blue).
    pub nan_rgb: [u8; 3],
    /// Colour of the peak marker (default red).
    pub marker_rgb: [u8; 3],
}

impl Default for PreviewOptions {
    fn default() -> Self {
        PreviewOptions {
            max_size: 1024,
            stretch: Stretch::Asinh,
            nan_rgb: [0, 0, 96],
            marker_rgb: [255, 0, 0],
        }
    }
}

/// Why a preview could not be written; `Display` gives one line,
/// `<output path>: <problem>`. No partial PNG is ever left behind.
#[derive(Debug)]
pub struct PreviewError {
    path: PathBuf,
    problem: String,
}

impl PreviewError {
    /// The PNG that was to be written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for PreviewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for PreviewError {}

/// A shrunk plane: row-major, row 0 = lowest `y`, NaN where no finite pixel.
struct Shrunk {
    width: usize,
    height: usize,
    factor: usize,
    values: Vec<f32>,
}

/// Block-averages the finite pixels of `plane` by `factor` in each axis.
fn shrink(plane: &ArrayView2<f32>, factor: usize) -> Shrunk {
    let (ny, nx) = plane.dim();
    let width = nx.div_ceil(factor);
    let height = ny.div_ceil(factor);
    let mut values = Vec::with_capacity(width * height);
    let mut sums = vec![0f64; width];
    let mut counts = vec![0u32; width];
    let mut row_copy = vec![0f32; nx];
    for (y, row) in plane.rows().into_iter().enumerate() {
        // Work on a contiguous row whatever the array's memory layout.
        let row = match row.as_slice() {
            Some(contiguous) => contiguous,
            None => {
                row_copy
                    .iter_mut()
                    .zip(row.iter())
                    .for_each(|(d, &v)| *d = v);
                &row_copy
            }
        };
        for ((block, sum), count) in row.chunks(factor).zip(&mut sums).zip(&mut counts) {
            for &v in block.iter().filter(|v| v.is_finite()) {
                *sum += f64::from(v);
                *count += 1;
            }
        }
        if (y + 1) % factor == 0 || y + 1 == ny {
            values.extend(sums.iter().zip(&counts).map(|(&sum, &count)| {
                if count == 0 {
                    f32::NAN
                } else {
                    (sum / f64::from(count)) as f32
                }
            }));
            sums.fill(0.0);
            counts.fill(0);
        }
    }
    Shrunk {
        width,
        height,
        factor,
        values,
    }
}

/// Maps finite values to grey levels 0..=255 with the asinh stretch set up
/// from the finite `values` (at least one).
fn asinh_mapper(values: &[f32]) -> Box<dyn Fn(f64) -> u8> {
    let finite = || {
        values
            .iter()
            .filter(|v| v.is_finite())
            .map(|&v| f64::from(v))
    };
    let min = finite().fold(f64::INFINITY, f64::min);
    let max = finite().fold(f64::NEG_INFINITY, f64::max);
    let (median, noise) = vlass_imstats::median_and_robust_noise(values).unwrap_or((min, 0.0));
    let (lo, softening) = if noise > 0.0 {
        let lo = (median - 2.0 * noise).max(min);
        (lo, noise / (max - lo))
    } else {
        (min, 0.1)
    };
    if max <= lo {
        return Box::new(|_| 128);
    }
    let norm = (1.0 / softening).asinh();
    Box::new(move |v| {
        let t = ((v - lo) / (max - lo)).clamp(0.0, 1.0);
        (255.0 * (t / softening).asinh() / norm).round() as u8
    })
}

/// Maps finite values to grey levels 0..=255 linearly between `lo` and `hi`.
fn linear_mapper(lo: f64, hi: f64) -> Box<dyn Fn(f64) -> u8> {
    if hi <= lo {
        return Box::new(|_| 128);
    }
    Box::new(move |v| (255.0 * ((v - lo) / (hi - lo)).clamp(0.0, 1.0)).round() as u8)
}

/// IRAF's zscale display limits of the finite `values`, computed exactly as
/// astropy's `ZScaleInterval()` with its defaults: take at most 1000 of the
/// finite values at a regular stride, sort them, fit a straight line to
/// (index, value) by least squares, reject points more than 2.5 standard
/// deviations from it (growing each rejection by 1 % of the sample count),
/// refit, at most 5 times; if at least half the sample (and at least 5) is
/// left, the limits are `median -/+` the slope divided by the contrast 0.25
/// times the distance to the centre index, kept inside the sample's range,
/// otherwise the sample's minimum and maximum. `None` if no value is finite.
pub fn zscale_limits(values: &[f32]) -> Option<(f64, f64)> {
    const SAMPLES: usize = 1000;
    const CONTRAST: f64 = 0.25;
    const MAX_REJECT: f64 = 0.5;
    const MIN_PIXELS: usize = 5;
    const KREJ: f64 = 2.5;
    const MAX_ITERATIONS: usize = 5;

    let finite = values.iter().filter(|v| v.is_finite()).count();
    if finite == 0 {
        return None;
    }
    let stride = ((finite as f64 / SAMPLES as f64) as usize).max(1);
    let mut sample: Vec<f32> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .step_by(stride)
        .take(SAMPLES)
        .collect();
    sample.sort_by(f32::total_cmp);
    let sample: Vec<f64> = sample.into_iter().map(f64::from).collect();
    let npix = sample.len();
    let (mut lo, mut hi) = (sample[0], sample[npix - 1]);
    let min_pixels = MIN_PIXELS.max((npix as f64 * MAX_REJECT) as usize);
    let grow = ((npix as f64 * 0.01) as usize).max(1);

    let mut bad = vec![false; npix];
    let mut good_count = npix;
    let mut last_good_count = npix + 1;
    let mut slope = None;
    for _ in 0..MAX_ITERATIONS {
        if good_count >= last_good_count || good_count < min_pixels {
            break;
        }
        let (fit_slope, intercept) = fit_line(&sample, &bad);
        slope = Some(fit_slope);
        let flat = |i: usize| sample[i] - (fit_slope * i as f64 + intercept);
        let good: Vec<f64> = (0..npix).filter(|&i| !bad[i]).map(flat).collect();
        let mean = good.iter().sum::<f64>() / good.len() as f64;
        let variance = good.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / good.len() as f64;
        let threshold = KREJ * variance.sqrt();
        for (i, is_bad) in bad.iter_mut().enumerate() {
            let d = flat(i);
            if d < -threshold || d > threshold {
                *is_bad = true;
            }
        }
        bad = dilate(&bad, grow);
        last_good_count = good_count;
        good_count = bad.iter().filter(|&&b| !b).count();
    }
    if let Some(slope) = slope.filter(|_| good_count >= min_pixels) {
        let slope = slope / CONTRAST;
        let center = (npix - 1) / 2;
        let median = if npix % 2 == 1 {
            sample[npix / 2]
        } else {
            (sample[npix / 2 - 1] + sample[npix / 2]) / 2.0
        };
        lo = lo.max(median - (center as f64 - 1.0) * slope);
        hi = hi.min(median + (npix - center) as f64 * slope);
    }
    Some((lo, hi))
}

/// Least-squares line `value = slope * index + intercept` through the points
/// not marked bad.
fn fit_line(sample: &[f64], bad: &[bool]) -> (f64, f64) {
    let points = || (0..sample.len()).filter(|&i| !bad[i]);
    let n = points().count() as f64;
    let mean_x = points().map(|i| i as f64).sum::<f64>() / n;
    let mean_y = points().map(|i| sample[i]).sum::<f64>() / n;
    let sxx: f64 = points().map(|i| (i as f64 - mean_x).powi(2)).sum();
    let sxy: f64 = points()
        .map(|i| (i as f64 - mean_x) * (sample[i] - mean_y))
        .sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (slope, mean_y - slope * mean_x)
}

/// Grows the marked points by a window of `width`, aligned as numpy's
/// `convolve(mask, ones(width), mode="same")`: point `i` becomes bad if any
/// point in `i - width/2 ..= i + (width-1)/2` was.
fn dilate(bad: &[bool], width: usize) -> Vec<bool> {
    let n = bad.len();
    (0..n)
        .map(|i| {
            let from = i.saturating_sub(width / 2);
            let to = (i + (width - 1) / 2).min(n - 1);
            bad[from..=to].iter().any(|&b| b)
        })
        .collect()
}

/// Paints the peak marker centred on preview pixel (`cx`, `row`).
fn draw_marker(
    rgb: &mut [u8],
    width: usize,
    height: usize,
    cx: usize,
    row: usize,
    colour: [u8; 3],
) {
    let radius = (width.max(height) as f64 / 64.0).clamp(5.0, 24.0);
    let tick = (radius / 2.0).round();
    let reach = (radius + 2.0 + tick).ceil() as isize;
    for dy in -reach..=reach {
        for dx in -reach..=reach {
            let (x, y) = (cx as isize + dx, row as isize + dy);
            if x < 0 || y < 0 || x >= width as isize || y >= height as isize {
                continue;
            }
            let distance = ((dx * dx + dy * dy) as f64).sqrt();
            let on_ring = (distance - radius).abs() <= 1.0;
            let on_tick =
                (dx == 0 || dy == 0) && distance >= radius + 2.0 && distance <= radius + 2.0 + tick;
            if on_ring || on_tick {
                let at = (y as usize * width + x as usize) * 3;
                rgb[at..at + 3].copy_from_slice(&colour);
            }
        }
    }
}

/// Writes an RGB PNG preview of `plane` (shape `[ny, nx]`, `plane[[y, x]]`);
/// `peak` is the 0-based pixel `(x, y)` to mark. See the module doc for the
/// exact mapping.
pub fn write_preview(
    plane: ArrayView2<f32>,
    peak: Option<(usize, usize)>,
    out: &Path,
    opts: &PreviewOptions,
) -> Result<(), PreviewError> {
    let fail = |problem: String| PreviewError {
        path: out.to_path_buf(),
        problem,
    };
    let (ny, nx) = plane.dim();
    if nx == 0 || ny == 0 {
        return Err(fail(format!("cannot preview an empty {nx} x {ny} plane")));
    }
    if opts.max_size == 0 {
        return Err(fail("preview size must be at least 1 pixel".to_string()));
    }
    if let Some((x, y)) = peak.filter(|&(x, y)| x >= nx || y >= ny) {
        return Err(fail(format!(
            "peak pixel ({x}, {y}) is outside the {nx} x {ny} plane"
        )));
    }
    let factor = nx.max(ny).div_ceil(opts.max_size);
    let shrunk = shrink(&plane, factor);
    let png =
        render_png(&shrunk, peak, opts).map_err(|e| fail(format!("cannot encode PNG: {e}")))?;
    vlass_cli::write_atomic(out, &png).map_err(|e| fail(format!("cannot write: {e}")))
}

/// Encodes the shrunk plane as an RGB PNG with the marker drawn.
fn render_png(
    shrunk: &Shrunk,
    peak: Option<(usize, usize)>,
    opts: &PreviewOptions,
) -> Result<Vec<u8>, png::EncodingError> {
    let (width, height) = (shrunk.width, shrunk.height);
    let grey: Box<dyn Fn(f64) -> u8> = if !shrunk.values.iter().any(|v| v.is_finite()) {
        Box::new(|_| 0)
    } else {
        match opts.stretch {
            Stretch::Asinh => asinh_mapper(&shrunk.values),
            Stretch::Zscale => match zscale_limits(&shrunk.values) {
                Some((lo, hi)) => linear_mapper(lo, hi),
                None => Box::new(|_| 0),
            },
        }
    };
    let mut rgb = vec![0u8; width * height * 3];
    for (row, pixels) in rgb.chunks_exact_mut(width * 3).enumerate() {
        let y = height - 1 - row;
        let values = &shrunk.values[y * width..(y + 1) * width];
        for (pixel, &v) in pixels.chunks_exact_mut(3).zip(values) {
            if v.is_finite() {
                pixel.fill(grey(f64::from(v)));
            } else {
                pixel.copy_from_slice(&opts.nan_rgb);
            }
        }
    }
    if let Some((x, y)) = peak {
        let row = height - 1 - y / shrunk.factor;
        draw_marker(
            &mut rgb,
            width,
            height,
            x / shrunk.factor,
            row,
            opts.marker_rgb,
        );
    }
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width as u32, height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&rgb)?;
        writer.finish()?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_averages_finite_pixels_and_keeps_empty_blocks_nan() {
        let mut plane = ndarray::Array2::<f32>::zeros((3, 5));
        for ((y, x), v) in plane.indexed_iter_mut() {
            *v = (10 * y + x) as f32;
        }
        plane[[0, 1]] = f32::NAN;
        plane[[2, 4]] = f32::NAN;
        let s = shrink(&plane.view(), 2);
        assert_eq!((s.width, s.height), (3, 2));
        // Block (0,0): 0, NaN, 10, 11 -> 7.
        assert_eq!(s.values[0], 7.0);
        assert_eq!(s.values[2], (4.0 + 14.0) / 2.0);
        assert_eq!(s.values[3], (20.0 + 21.0) / 2.0);
        assert!(s.values[5].is_nan());
    }

    #[test]
    fn dilate_matches_numpy_same_convolution() {
        // numpy: convolve(a, ones(4), "same") with a[5] set marks 4..=7.
        let mut bad = vec![false; 20];
        bad[5] = true;
        let grown = dilate(&bad, 4);
        let marked: Vec<usize> = (0..20).filter(|&i| grown[i]).collect();
        assert_eq!(marked, [4, 5, 6, 7]);
        assert_eq!(dilate(&bad, 1), bad);
    }

    #[test]
    fn zscale_of_a_straight_ramp_is_its_range() {
        // A perfect line: nothing rejected, slope 1/contrast spans past the
        // ends, so the limits are the extremes.
        let ramp: Vec<f32> = (0..500).map(|i| i as f32).collect();
        assert_eq!(zscale_limits(&ramp), Some((0.0, 499.0)));
        assert_eq!(zscale_limits(&[f32::NAN]), None);
    }
}
