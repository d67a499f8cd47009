//! Background mean and rms: sigma-clipped statistics (PyBDSF's `bstat`) in
//! square boxes on a regular grid, interpolated bilinearly to every pixel.
//!
//! Only the coarse grid is stored; values at a pixel are interpolated on demand
//! (row by row when a whole map is needed), so memory stays at a few times the
//! grid, not the image.

use ndarray::{Array2, ArrayView2};

use crate::boxstats::BoxGrid;
use crate::model::BeamPix;
use crate::{FindError, FindOptions};

/// Boxes with fewer finite pixels than this fraction of the box area are
/// filled from their neighbours instead of trusting a few edge pixels.
const MIN_FINITE_FRACTION: f64 = 0.2;

/// The default box side in beam major-axis FWHMs: about 900 independent beams
/// per box, so a box rms is good to ~2.5%, while small enough (about 70" for
/// VLASS beams) to follow the noise rise around bright sources and towards the
/// primary-beam edge (CASA's own rms images use 60").
pub const DEFAULT_BOX_BEAMS: f64 = 30.0;

/// A box whose clipped rms exceeds this many times the rms that the
/// pixel-to-pixel noise predicts (see [`pixel_noise`] and
/// [`correlated_noise_factor`]) is taken to measure emission, not noise: the
/// clipping cannot separate a source that fills the box from its noise. Ten
/// leaves room for a real rise of the noise (around bright sources, towards the
/// primary-beam edge: a few times) while a source filling the box gives
/// hundreds.
pub const EMISSION_BOX_RATIO: f64 = 10.0;

/// Background statistics of one image plane.
#[derive(Debug, Clone)]
pub struct Background {
    /// Box side and step, pixels.
    pub box_size: usize,
    pub step: usize,
    /// Grid node centres along x and y (pixels).
    centres_x: Vec<f64>,
    centres_y: Vec<f64>,
    /// Node values [ny_nodes, nx_nodes].
    mean_grid: Array2<f64>,
    rms_grid: Array2<f64>,
    /// Whether the mean / rms varies significantly over the image (PyBDSF's
    /// test); when not, the median node value is used everywhere.
    pub mean_varies: bool,
    pub rms_varies: bool,
    /// Median node values.
    pub median_mean: f64,
    pub median_rms: f64,
    /// Interpolation weights of every image column (see `axis_weights`).
    column_weights: Vec<(usize, usize, f64)>,
    /// Robust pixel-to-pixel noise of the image ([`pixel_noise`]), Jy/beam;
    /// NaN when the image has too few finite neighbouring pixels.
    pub pixel_noise: f64,
    /// Boxes whose statistics were replaced because they measured emission
    /// (rms above `EMISSION_BOX_RATIO` x the noise the pixel-to-pixel
    /// estimate predicts), and the number of boxes.
    pub emission_boxes: usize,
    pub boxes: usize,
    /// Every box measured emission: the maps are a constant zero mean and the
    /// pixel-to-pixel noise as rms.
    pub from_pixel_noise: bool,
}

/// Most samples [`pixel_noise`] looks at: rows are skipped evenly beyond this.
const PIXEL_NOISE_SAMPLES: usize = 1 << 22;

/// Robust noise from pixel-to-pixel differences: 1.4826 x the median absolute
/// deviation of the second differences v[i-1] - 2 v[i] + v[i+1] along x and
/// along y, over sqrt(6) (their rms for independent pixels of unit rms).
/// Emission smooth on the scale of a few pixels cancels in a second
/// difference, so this stays near the noise even where a source fills every
/// box of the background grid. It is exact for independent pixels and too low
/// for noise correlated over the beam (see [`correlated_noise_factor`]).
/// `None` when fewer than 100 finite triples exist.
pub fn pixel_noise(image: ArrayView2<f32>) -> Option<f64> {
    let (ny, nx) = image.dim();
    if nx < 3 && ny < 3 {
        return None;
    }
    let per_row = 2 * nx;
    let row_step = (ny * per_row).div_ceil(PIXEL_NOISE_SAMPLES).max(1);
    let mut d = Vec::new();
    for y in (0..ny).step_by(row_step) {
        let row = image.row(y);
        for x in 1..nx.saturating_sub(1) {
            let v = row[x - 1] - 2.0 * row[x] + row[x + 1];
            if v.is_finite() {
                d.push(v);
            }
        }
        if y >= 1 && y + 1 < ny {
            let (above, below) = (image.row(y - 1), image.row(y + 1));
            for x in 0..nx {
                let v = above[x] - 2.0 * row[x] + below[x];
                if v.is_finite() {
                    d.push(v);
                }
            }
        }
    }
    if d.len() < 100 {
        return None;
    }
    let centre = crate::stats::median_in_place(&mut d)? as f32;
    d.iter_mut().for_each(|v| *v = (*v - centre).abs());
    let mad = crate::stats::median_in_place(&mut d)?;
    Some(1.4826 * mad / 6f64.sqrt())
}

/// How many times lower [`pixel_noise`] is than the true rms when the noise is
/// correlated like the beam (an image noise autocorrelation equal to the
/// restoring beam, as for a naturally weighted interferometer image): with
/// rho(d) = exp(-d^2 / (2 s^2)), s the geometric-mean beam sigma in pixels, a
/// second difference has variance (6 - 8 rho(1) + 2 rho(2)) sigma^2 instead of
/// 6 sigma^2. On the casa-sim CASA images the clipped rms over the
/// pixel-to-pixel noise is 2.01 (QL, 2.4 pixels per beam) and 4.16 (SE, 3.9
/// pixels per beam) against 2.03 and 4.41 from this model; white noise
/// convolved with the beam (autocorrelation sqrt(2) wider) gives more.
pub fn correlated_noise_factor(beam: BeamPix) -> f64 {
    let s = (beam.maj_fwhm_pix * beam.min_fwhm_pix).sqrt() / (8f64 * 2f64.ln()).sqrt();
    let rho = |d: f64| (-d * d / (2.0 * s * s)).exp();
    let var = 6.0 - 8.0 * rho(1.0) + 2.0 * rho(2.0);
    (6.0 / var.max(1e-12)).sqrt()
}

/// Default (box, step) for an image of `nx` x `ny` pixels and this beam:
/// `DEFAULT_BOX_BEAMS` beam FWHMs, odd, at least 9 beam sigmas (PyBDSF's
/// smallest allowed box) and 25 pixels, at most the smaller image side; step one
/// third of the box (PyBDSF's ratio).
pub fn default_box(nx: usize, ny: usize, beam: BeamPix) -> (usize, usize) {
    let min_side = nx.min(ny).max(1);
    let sigma_maj = beam.maj_fwhm_pix / (8f64 * 2f64.ln()).sqrt();
    let wanted = (DEFAULT_BOX_BEAMS * beam.maj_fwhm_pix)
        .max(9.0 * sigma_maj)
        .max(25.0)
        .round() as usize;
    let mut size = wanted.min(min_side);
    if size.is_multiple_of(2) && size > 1 {
        size -= 1;
    }
    (size.max(1), (size / 3).max(1))
}

/// Start of each box along an axis of length `n`: every `step` from 0, the last
/// box flush with the end.
fn box_starts(n: usize, size: usize, step: usize) -> Vec<usize> {
    if size >= n {
        return vec![0];
    }
    let last = n - size;
    let mut starts: Vec<usize> = (0..=last).step_by(step).collect();
    if starts.last() != Some(&last) {
        starts.push(last);
    }
    starts
}

/// Beam area in pixels (FWHM-based: pi / (4 ln 2) maj min).
pub fn beam_area_pix(beam: BeamPix) -> f64 {
    std::f64::consts::PI / (4.0 * 2f64.ln()) * beam.maj_fwhm_pix * beam.min_fwhm_pix
}

impl Background {
    /// Computes the grid statistics of `image` (NaN = blank).
    pub fn compute(
        image: ArrayView2<f32>,
        beam: BeamPix,
        opts: &FindOptions,
    ) -> Result<Background, FindError> {
        let (ny, nx) = image.dim();
        if nx == 0 || ny == 0 {
            return Err(FindError::EmptyImage);
        }
        let (box_size, step) = match opts.rms_box {
            Some((b, s)) => {
                if b == 0 || s == 0 {
                    return Err(FindError::BadOption(format!(
                        "rms_box ({b}, {s}): box and step must be positive"
                    )));
                }
                (b.min(nx.max(ny)), s)
            }
            None => default_box(nx, ny, beam),
        };
        let starts_x = box_starts(nx, box_size.min(nx), step);
        let starts_y = box_starts(ny, box_size.min(ny), step);
        let bx = box_size.min(nx);
        let by = box_size.min(ny);
        let npix_beam = beam_area_pix(beam);
        // Sampling every `stride` pixels, with stride at most 0.55 of the beam's
        // minor FWHM (about Nyquist), keeps nearly every independent beam in the
        // box (the noise is correlated over the beam) while cutting the work by
        // stride^2.
        let stride = ((0.55 * beam.min_fwhm_pix).floor() as usize).clamp(1, 4);
        let grid = BoxGrid {
            starts_x: &starts_x,
            starts_y: &starts_y,
            size_x: bx,
            size_y: by,
            stride,
        };
        let sampled = bx.div_ceil(stride) * by.div_ceil(stride);
        let stats = grid.clipped_stats(image, npix_beam, |finite| {
            finite as f64 >= MIN_FINITE_FRACTION * sampled as f64 && finite >= 20
        });
        let shape = (starts_y.len(), starts_x.len());
        if stats.iter().all(Option::is_none) {
            return Err(why_no_statistics(image));
        }
        // Boxes whose rms is far above what the pixel-to-pixel noise allows,
        // even for beam-correlated noise, hold emission that fills them; their
        // statistics are replaced from the neighbouring boxes as blank ones.
        let pixel_noise = pixel_noise(image).unwrap_or(f64::NAN);
        let emission_limit = EMISSION_BOX_RATIO * correlated_noise_factor(beam) * pixel_noise;
        let mut stats = stats;
        let mut emission_boxes = 0;
        if pixel_noise > 0.0 {
            for s in stats.iter_mut() {
                if matches!(s, Some((_, rms)) if *rms > emission_limit) {
                    *s = None;
                    emission_boxes += 1;
                }
            }
        }
        let boxes = stats.len();
        let from_pixel_noise = stats.iter().all(Option::is_none);
        if from_pixel_noise {
            // Nothing in the image measures the noise but its pixel-to-pixel
            // differences; the background is taken as zero (PyBDSF's choice
            // for confused images).
            let zero = vec![Some((0.0, pixel_noise)); boxes];
            stats = zero;
        }
        let mean_grid = fill_missing(shape, &stats, |s| s.0);
        let rms_grid = fill_missing(shape, &stats, |s| s.1);
        let centres_x: Vec<f64> = starts_x
            .iter()
            .map(|&s| s as f64 + (bx as f64 - 1.0) / 2.0)
            .collect();
        let centres_y = starts_y
            .iter()
            .map(|&s| s as f64 + (by as f64 - 1.0) / 2.0)
            .collect();
        let median_of = |g: &Array2<f64>| {
            let mut v: Vec<f64> = g.iter().copied().collect();
            v.sort_by(f64::total_cmp);
            let n = v.len();
            if n % 2 == 1 {
                v[n / 2]
            } else {
                0.5 * (v[n / 2 - 1] + v[n / 2])
            }
        };
        let std_of = |g: &Array2<f64>| {
            let n = g.len() as f64;
            let m = g.sum() / n;
            (g.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt()
        };
        let median_mean = median_of(&mean_grid);
        let median_rms = median_of(&rms_grid);
        // PyBDSF's tests: a map is used only if its scatter exceeds what the
        // finite box size alone would give (sigma sqrt(beam area) / box).
        let scale = median_rms * npix_beam.sqrt() / box_size as f64;
        let rms_varies = !from_pixel_noise && std_of(&rms_grid) > 1.1 * scale / 2f64.sqrt();
        let mean_varies = !from_pixel_noise && std_of(&mean_grid) > 5.0 * scale;
        let column_weights = (0..nx)
            .map(|x| Self::axis_weights(&centres_x, x as f64))
            .collect();
        Ok(Background {
            column_weights,
            box_size,
            step,
            centres_x,
            centres_y,
            mean_grid,
            rms_grid,
            mean_varies,
            rms_varies,
            median_mean,
            median_rms,
            pixel_noise,
            emission_boxes,
            boxes,
            from_pixel_noise,
        })
    }

    /// Interpolation weights along one axis: (lower node, upper node, fraction).
    fn axis_weights(centres: &[f64], v: f64) -> (usize, usize, f64) {
        let n = centres.len();
        if n == 1 || v <= centres[0] {
            return (0, 0, 0.0);
        }
        if v >= centres[n - 1] {
            return (n - 1, n - 1, 0.0);
        }
        // centres are increasing; find the interval
        let k = centres
            .partition_point(|&c| c <= v)
            .saturating_sub(1)
            .min(n - 2);
        let t = (v - centres[k]) / (centres[k + 1] - centres[k]);
        (k, k + 1, t)
    }

    fn interpolate(&self, grid: &Array2<f64>, x: f64, y: f64) -> f64 {
        let (x0, x1, tx) = Self::axis_weights(&self.centres_x, x);
        let (y0, y1, ty) = Self::axis_weights(&self.centres_y, y);
        let top = grid[[y0, x0]] * (1.0 - tx) + grid[[y0, x1]] * tx;
        let bottom = grid[[y1, x0]] * (1.0 - tx) + grid[[y1, x1]] * tx;
        top * (1.0 - ty) + bottom * ty
    }

    /// Background mean at pixel (x, y).
    pub fn mean_at(&self, x: f64, y: f64) -> f64 {
        if self.mean_varies {
            self.interpolate(&self.mean_grid, x, y)
        } else {
            self.median_mean
        }
    }

    /// Background rms at pixel (x, y).
    pub fn rms_at(&self, x: f64, y: f64) -> f64 {
        if self.rms_varies {
            self.interpolate(&self.rms_grid, x, y)
        } else {
            self.median_rms
        }
    }

    /// Fills `mean` and `rms` with the values along image row `y`.
    pub fn fill_row(&self, y: usize, mean: &mut [f32], rms: &mut [f32]) {
        let (y0, y1, ty) = Self::axis_weights(&self.centres_y, y as f64);
        let row = |grid: &Array2<f64>, varies: bool, constant: f64, out: &mut [f32]| {
            if !varies {
                out.iter_mut().for_each(|v| *v = constant as f32);
                return;
            }
            // interpolate the node rows to this y once, then along x
            let nodes: Vec<f64> = (0..grid.dim().1)
                .map(|i| grid[[y0, i]] * (1.0 - ty) + grid[[y1, i]] * ty)
                .collect();
            for (v, &(x0, x1, tx)) in out.iter_mut().zip(&self.column_weights) {
                *v = (nodes[x0] * (1.0 - tx) + nodes[x1] * tx) as f32;
            }
        };
        row(&self.mean_grid, self.mean_varies, self.median_mean, mean);
        row(&self.rms_grid, self.rms_varies, self.median_rms, rms);
    }

    /// Full-size mean and rms maps ([ny, nx]); NaN where `image` is blank.
    pub fn maps(&self, image: ArrayView2<f32>) -> (Array2<f32>, Array2<f32>) {
        let (ny, nx) = image.dim();
        let mut mean = Array2::<f32>::zeros((ny, nx));
        let mut rms = Array2::<f32>::zeros((ny, nx));
        for y in 0..ny {
            let mut mrow = vec![0f32; nx];
            let mut rrow = vec![0f32; nx];
            self.fill_row(y, &mut mrow, &mut rrow);
            for x in 0..nx {
                let blank = !image[[y, x]].is_finite();
                mean[[y, x]] = if blank { f32::NAN } else { mrow[x] };
                rms[[y, x]] = if blank { f32::NAN } else { rrow[x] };
            }
        }
        (mean, rms)
    }
}

/// Why no box of `image` gave statistics: no finite pixel, one value
/// everywhere (zero noise), or too few finite pixels per box.
fn why_no_statistics(image: ArrayView2<f32>) -> FindError {
    let mut finite = image.iter().copied().filter(|v| v.is_finite());
    match finite.next() {
        None => FindError::NoValidPixels,
        Some(first) if finite.all(|v| v == first) => FindError::ConstantImage(first),
        Some(_) => FindError::TooFewPixels,
    }
}

/// Grid of one statistic with missing nodes filled by repeatedly averaging
/// their known 8-neighbours (deterministic, in raster order per pass).
fn fill_missing(
    shape: (usize, usize),
    stats: &[Option<(f64, f64)>],
    pick: impl Fn(&(f64, f64)) -> f64,
) -> Array2<f64> {
    let (rows, cols) = shape;
    let mut grid = Array2::<f64>::from_elem(shape, f64::NAN);
    for (k, s) in stats.iter().enumerate() {
        if let Some(s) = s {
            grid[[k / cols, k % cols]] = pick(s);
        }
    }
    loop {
        let missing: Vec<(usize, usize)> = grid
            .indexed_iter()
            .filter(|(_, v)| v.is_nan())
            .map(|(ix, _)| ix)
            .collect();
        if missing.is_empty() {
            break;
        }
        let mut updates = Vec::new();
        for &(r, c) in &missing {
            let mut sum = 0.0;
            let mut n = 0;
            for dr in -1i64..=1 {
                for dc in -1i64..=1 {
                    let (rr, cc) = (r as i64 + dr, c as i64 + dc);
                    if rr < 0 || cc < 0 || rr >= rows as i64 || cc >= cols as i64 {
                        continue;
                    }
                    let v = grid[[rr as usize, cc as usize]];
                    if v.is_finite() {
                        sum += v;
                        n += 1;
                    }
                }
            }
            if n > 0 {
                updates.push(((r, c), sum / n as f64));
            }
        }
        if updates.is_empty() {
            break; // cannot happen when at least one node is known
        }
        for (ix, v) in updates {
            grid[ix] = v;
        }
    }
    grid
}
