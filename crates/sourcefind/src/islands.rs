//! Islands: 8-connected pixels at or above `thresh_isl` x rms over the local
//! mean that hold a pixel more than `thresh_pix` x rms above it (PyBDSF's
//! rules, including its minimum island size), found by one flood-fill pass.

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::background::{beam_area_pix, Background};
use crate::model::BeamPix;
use crate::stats::median_in_place;
use crate::FindOptions;

/// Where the finder takes mean and rms from: the computed background, with the
/// rms optionally replaced by a supplied map.
pub struct Noise<'a> {
    pub background: &'a Background,
    pub rms_map: Option<ArrayView2<'a, f32>>,
}

impl Noise<'_> {
    /// Mean and rms along row `y`; rms is NaN where a supplied map is unusable.
    pub fn fill_row(&self, y: usize, mean: &mut [f32], rms: &mut [f32]) {
        self.background.fill_row(y, mean, rms);
        if let Some(map) = &self.rms_map {
            for (r, &m) in rms.iter_mut().zip(map.row(y).iter()) {
                *r = if m.is_finite() && m > 0.0 {
                    m
                } else {
                    f32::NAN
                };
            }
        }
    }

    /// Mean and rms at pixel (x, y).
    pub fn at(&self, x: usize, y: usize) -> (f64, f64) {
        let mean = self.background.mean_at(x as f64, y as f64);
        let rms = match &self.rms_map {
            Some(map) => {
                let m = map[[y, x]];
                if m.is_finite() && m > 0.0 {
                    f64::from(m)
                } else {
                    f64::NAN
                }
            }
            None => self.background.rms_at(x as f64, y as f64),
        };
        (mean, rms)
    }
}

/// One island, with what the fitter needs.
#[derive(Debug, Clone)]
pub struct FoundIsland {
    /// 0-based, in output order.
    pub isl_id: usize,
    /// Member pixels (x, y), in raster order.
    pub pixels: Vec<(usize, usize)>,
    /// Image value minus background mean at each member pixel.
    pub values: Vec<f64>,
    /// Non-member pixels touching the island (8-connected, finite, raster
    /// order) and their values over the mean: fitted with the members so that
    /// the fit does not see only the pixels that noise pushed above the
    /// threshold.
    pub ring: Vec<(usize, usize)>,
    pub ring_values: Vec<f64>,
    /// Sum of the raw image values over the members.
    pub raw_sum: f64,
    /// Inclusive bounding box (x0, y0, x1, y1).
    pub bbox: (usize, usize, usize, usize),
    /// Brightest member (x, y) and its value over the mean.
    pub peak: (usize, usize, f64),
    /// Peak over the rms at the peak.
    pub peak_snr: f64,
    /// Averages of the mean and rms over the bounding box grown by one pixel
    /// (PyBDSF's island mean / rms).
    pub mean: f64,
    pub rms: f64,
    /// A member lies on the image border or next to a blank pixel.
    pub touches_edge: bool,
}

const ACTIVE: u8 = 1;
const VISITED: u8 = 2;

/// Finds the islands of `image`, ordered like PyBDSF's labelling of its
/// [x, y] arrays: by the smallest x of the island, then the smallest y there.
pub fn find_islands(
    image: ArrayView2<f32>,
    noise: &Noise,
    beam: BeamPix,
    opts: &FindOptions,
) -> Vec<FoundIsland> {
    let (ny, nx) = image.dim();
    let mut flags = vec![0u8; nx * ny];
    flags.par_chunks_mut(nx).enumerate().for_each(|(y, row)| {
        let mut mean = vec![0f32; nx];
        let mut rms = vec![0f32; nx];
        noise.fill_row(y, &mut mean, &mut rms);
        for x in 0..nx {
            let v = image[[y, x]];
            let r = rms[x];
            if v.is_finite()
                && r.is_finite()
                && r > 0.0
                && (v - mean[x]) >= opts.thresh_isl as f32 * r
            {
                row[x] = ACTIVE;
            }
        }
    });
    let min_pixels = opts
        .min_island_pixels
        .unwrap_or_else(|| ((beam_area_pix(beam) / 3.0) as usize).max(6));
    let mut islands = Vec::new();
    let mut stack = Vec::new();
    for y0 in 0..ny {
        for x0 in 0..nx {
            if flags[y0 * nx + x0] != ACTIVE {
                continue;
            }
            flags[y0 * nx + x0] |= VISITED;
            stack.clear();
            stack.push((x0, y0));
            let mut pixels = Vec::new();
            while let Some((x, y)) = stack.pop() {
                pixels.push((x, y));
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let (xx, yy) = (x as i64 + dx, y as i64 + dy);
                        if xx < 0 || yy < 0 || xx >= nx as i64 || yy >= ny as i64 {
                            continue;
                        }
                        let f = &mut flags[yy as usize * nx + xx as usize];
                        if *f == ACTIVE {
                            *f |= VISITED;
                            stack.push((xx as usize, yy as usize));
                        }
                    }
                }
            }
            if pixels.len() < min_pixels {
                continue;
            }
            if let Some(island) = describe(image, noise, pixels, opts) {
                islands.push(island);
            }
        }
    }
    islands.sort_by_key(|isl| {
        let min_x = isl.bbox.0;
        let min_y = isl
            .pixels
            .iter()
            .filter(|p| p.0 == min_x)
            .map(|p| p.1)
            .min()
            .unwrap_or(0);
        (min_x, min_y)
    });
    for (k, isl) in islands.iter_mut().enumerate() {
        isl.isl_id = k;
    }
    islands
}

/// Builds the island record, or `None` when its peak is not above `thresh_pix`.
fn describe(
    image: ArrayView2<f32>,
    noise: &Noise,
    mut pixels: Vec<(usize, usize)>,
    opts: &FindOptions,
) -> Option<FoundIsland> {
    let (ny, nx) = image.dim();
    pixels.sort_by_key(|&(x, y)| (y, x));
    let mut values = Vec::with_capacity(pixels.len());
    let mut raw_sum = 0.0;
    let mut peak = (0, 0, f64::NEG_INFINITY);
    let mut peak_rms = f64::NAN;
    let mut bbox = (usize::MAX, usize::MAX, 0, 0);
    let mut touches_edge = false;
    for &(x, y) in &pixels {
        let raw = f64::from(image[[y, x]]);
        let (mean, rms) = noise.at(x, y);
        let v = raw - mean;
        raw_sum += raw;
        values.push(v);
        if v > peak.2 {
            peak = (x, y, v);
            peak_rms = rms;
        }
        bbox = (bbox.0.min(x), bbox.1.min(y), bbox.2.max(x), bbox.3.max(y));
        if x == 0 || y == 0 || x + 1 == nx || y + 1 == ny {
            touches_edge = true;
        } else if !touches_edge {
            'n: for yy in y - 1..=y + 1 {
                for xx in x - 1..=x + 1 {
                    if !image[[yy, xx]].is_finite() || !noise.at(xx, yy).1.is_finite() {
                        touches_edge = true;
                        break 'n;
                    }
                }
            }
        }
    }
    if peak.2.partial_cmp(&(opts.thresh_pix * peak_rms)) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let (gx0, gy0) = (bbox.0.saturating_sub(1), bbox.1.saturating_sub(1));
    let (gx1, gy1) = ((bbox.2 + 1).min(nx - 1), (bbox.3 + 1).min(ny - 1));
    let (mut sum_mean, mut sum_rms, mut n) = (0.0, 0.0, 0usize);
    for y in gy0..=gy1 {
        for x in gx0..=gx1 {
            let (m, r) = noise.at(x, y);
            if image[[y, x]].is_finite() && r.is_finite() {
                sum_mean += m;
                sum_rms += r;
                n += 1;
            }
        }
    }
    let n = n.max(1) as f64;
    let mut ring = Vec::new();
    for &(x, y) in &pixels {
        for yy in y.saturating_sub(1)..=(y + 1).min(ny - 1) {
            for xx in x.saturating_sub(1)..=(x + 1).min(nx - 1) {
                ring.push((xx, yy));
            }
        }
    }
    ring.sort_by_key(|&(x, y)| (y, x));
    ring.dedup();
    ring.retain(|&(x, y)| {
        pixels
            .binary_search_by_key(&(y, x), |&(px, py)| (py, px))
            .is_err()
            && image[[y, x]].is_finite()
            && noise.at(x, y).1.is_finite()
    });
    let ring_values = ring
        .iter()
        .map(|&(x, y)| f64::from(image[[y, x]]) - noise.at(x, y).0)
        .collect();
    Some(FoundIsland {
        ring,
        ring_values,
        isl_id: 0,
        pixels,
        values,
        raw_sum,
        bbox,
        peak,
        peak_snr: peak.2 / peak_rms,
        mean: sum_mean / n,
        rms: sum_rms / n,
        touches_edge,
    })
}

/// Medians of the mean and rms maps over the finite pixels of `image` (and,
/// with a supplied rms map, its usable pixels). NaN when there are none. A
/// constant map gives its constant without a pass over the image; otherwise
/// one map at a time is gathered (about one image of extra memory).
pub fn median_maps(image: ArrayView2<f32>, noise: &Noise) -> (f64, f64) {
    let (ny, nx) = image.dim();
    let bg = noise.background;
    let gather = |pick_mean: bool| -> f64 {
        let mut values = Vec::new();
        let mut mean = vec![0f32; nx];
        let mut rms = vec![0f32; nx];
        for y in 0..ny {
            noise.fill_row(y, &mut mean, &mut rms);
            let row = image.row(y);
            for x in 0..nx {
                if row[x].is_finite() && rms[x].is_finite() {
                    values.push(if pick_mean { mean[x] } else { rms[x] });
                }
            }
        }
        median_in_place(&mut values).unwrap_or(f64::NAN)
    };
    let any_usable = || {
        (0..ny).any(|y| {
            let mut mean = vec![0f32; nx];
            let mut rms = vec![0f32; nx];
            noise.fill_row(y, &mut mean, &mut rms);
            (0..nx).any(|x| image[[y, x]].is_finite() && rms[x].is_finite())
        })
    };
    let constant_mean = !bg.mean_varies;
    let constant_rms = !bg.rms_varies && noise.rms_map.is_none();
    if constant_mean && constant_rms {
        return if any_usable() {
            (bg.median_mean, bg.median_rms)
        } else {
            (f64::NAN, f64::NAN)
        };
    }
    let mean = if constant_mean {
        if any_usable() {
            bg.median_mean
        } else {
            f64::NAN
        }
    } else {
        gather(true)
    };
    let rms = if constant_rms {
        if mean.is_nan() {
            f64::NAN
        } else {
            bg.median_rms
        }
    } else {
        gather(false)
    };
    (mean, rms)
}
