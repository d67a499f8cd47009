//! Decomposition of one island into elliptical Gaussians.
//!
//! The fit uses the island's pixels plus the ring of pixels touching it (just
//! below the island threshold), which reduces the bias of fitting only pixels
//! that noise lifted above the threshold (sizes and fluxes of faint sources).
//! Every Gaussian beyond the first must lower chi^2 (corrected for the
//! beam-correlated noise) by at least `thresh_isl`^2, i.e. be significant at the
//! island threshold; the faintest are removed while that does not hold.
//! Initial guesses are the island's local maxima (a pixel brighter than every
//! island pixel within half a beam), brightest first, at least max(0.5 beam,
//! 2.2 pixels) apart, as PyBDSF. All are fitted jointly by Levenberg-Marquardt;
//! Gaussians that PyBDSF's flagging rules reject are dropped and the rest
//! refitted; then a beam-shaped Gaussian is added at the residual peak while it
//! is above the island threshold and the extra Gaussian survives the flags.
//! Islands larger than `max_joint_fit_pixels`, and islands of more than 25 beam
//! areas whose joint fit is rejected entirely by the flags (emission more
//! extended than PyBDSF's 25-beam size flag allows), are decomposed one Gaussian at a time in windows
//! of three beams around the residual peaks, sizes limited to the window, so
//! work stays bounded and extended emission is not lost. Before the windows,
//! one Gaussian is fitted to the whole island (on a pixel subsample): a smooth
//! source larger than a window, which window-sized Gaussians cannot follow, is
//! kept as that one Gaussian when it explains 90% of the island's squared
//! signal; further Gaussians must then reach `thresh_pix` in the residual.

use ndarray::ArrayView2;

use crate::background::beam_area_pix;
use crate::errors::FWSIG;
use crate::islands::FoundIsland;
use crate::lm::{self, FitData, FreeMask, NPAR};
use crate::model::{BeamPix, IslandOutcome};
use crate::FindOptions;

/// PyBDSF's flag thresholds (defaults of `flag_minsnr`, `flag_maxsnr`,
/// `flag_maxsize_isl`, `flag_maxsize_bm`, `flag_maxsize_fwhm`).
const FLAG_MINSNR: f64 = 0.6;
const FLAG_MAXSNR: f64 = 1.5;
const FLAG_MAXSIZE_ISL: f64 = 2.0;
const FLAG_MAXSIZE_BM: f64 = 25.0;
const FLAG_MAXSIZE_FWHM: f64 = 0.5;
/// Rounds of fit -> flag -> refit (PyBDSF: 5).
const FLAG_ROUNDS: usize = 5;

/// One accepted Gaussian in image pixel units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FittedGaussian {
    /// Peak over the background, Jy/beam.
    pub amp: f64,
    pub x: f64,
    pub y: f64,
    /// FWHM, pixels (maj >= min).
    pub maj: f64,
    pub min: f64,
    /// Degrees CCW from +y, in [0, 180).
    pub pa_deg: f64,
}

impl FittedGaussian {
    /// Internal six-parameter form (sigmas, radians).
    pub fn params(&self) -> [f64; NPAR] {
        [
            self.amp,
            self.x,
            self.y,
            self.maj / FWSIG,
            self.min / FWSIG,
            self.pa_deg.to_radians(),
        ]
    }

    /// Converts fitted parameters, ordering the axes and wrapping the angle.
    fn from_params(p: &[f64]) -> FittedGaussian {
        let (mut maj, mut min, mut theta) = (p[3], p[4], p[5]);
        if min > maj {
            std::mem::swap(&mut maj, &mut min);
            theta += std::f64::consts::FRAC_PI_2;
        }
        let mut pa = theta.to_degrees().rem_euclid(180.0);
        if pa >= 180.0 {
            pa = 0.0;
        }
        FittedGaussian {
            amp: p[0],
            x: p[1],
            y: p[2],
            maj: maj * FWSIG,
            min: min * FWSIG,
            pa_deg: pa,
        }
    }

    /// Value at (x, y).
    pub fn value_at(&self, x: f64, y: f64) -> f64 {
        lm::gaussian_value(&self.params(), x, y)
    }
}

/// The fit of one island.
#[derive(Debug, Clone, PartialEq)]
pub struct IslandFit {
    /// Accepted Gaussians, brightest first.
    pub gaussians: Vec<FittedGaussian>,
    pub outcome: IslandOutcome,
    /// Mean and standard deviation of (image - model) over the island pixels.
    pub resid_mean: f64,
    pub resid_rms: f64,
}

/// Pixel data of an island in the form the fitter uses.
struct Pixels<'a> {
    island: &'a FoundIsland,
    xs: Vec<f64>,
    ys: Vec<f64>,
    /// Island membership over the bounding box, for the flag tests.
    mask: Vec<bool>,
    box_w: usize,
}

impl<'a> Pixels<'a> {
    fn new(island: &'a FoundIsland) -> Pixels<'a> {
        let (x0, y0, x1, y1) = island.bbox;
        let box_w = x1 - x0 + 1;
        let mut mask = vec![false; box_w * (y1 - y0 + 1)];
        for &(x, y) in &island.pixels {
            mask[(y - y0) * box_w + (x - x0)] = true;
        }
        Pixels {
            island,
            xs: island.pixels.iter().map(|p| p.0 as f64).collect(),
            ys: island.pixels.iter().map(|p| p.1 as f64).collect(),
            mask,
            box_w,
        }
    }

    fn is_member(&self, x: f64, y: f64) -> bool {
        let (x0, y0, x1, y1) = self.island.bbox;
        let (xr, yr) = (x.round(), y.round());
        if xr < x0 as f64 || yr < y0 as f64 || xr > x1 as f64 || yr > y1 as f64 {
            return false;
        }
        self.mask[(yr as usize - y0) * self.box_w + (xr as usize - x0)]
    }

    /// Data value at the member pixel nearest (x, y), if it is a member.
    fn value_near(&self, x: f64, y: f64) -> Option<f64> {
        if !self.is_member(x, y) {
            return None;
        }
        let (xr, yr) = (x.round() as usize, y.round() as usize);
        self.island
            .pixels
            .binary_search_by_key(&(yr, xr), |&(px, py)| (py, px))
            .ok()
            .map(|k| self.island.values[k])
    }
}

/// Fits one island (see the module documentation).
pub fn fit_island(
    image: ArrayView2<f32>,
    island: &FoundIsland,
    beam: BeamPix,
    opts: &FindOptions,
) -> IslandFit {
    let pixels = Pixels::new(island);
    let threshold = opts.thresh_isl * island.rms;
    let result = if island.pixels.len() > opts.max_joint_fit_pixels {
        fit_windowed(&pixels, beam, opts, threshold)
    } else {
        match fit_joint(&pixels, beam, opts, threshold) {
            // Emission too extended for PyBDSF's size flag (an island larger
            // than that flag's 25 beams): tile it with window-sized Gaussians
            // instead of losing it. Small rejected islands stay rejected.
            Ok(g)
                if g.is_empty()
                    && island.pixels.len() as f64 > FLAG_MAXSIZE_BM * beam_area_pix(beam) =>
            {
                fit_windowed(&pixels, beam, opts, threshold)
            }
            other => other,
        }
    };
    let (gaussians, outcome) = match result {
        Ok(mut g) if !g.is_empty() => {
            g.sort_by(|a, b| b.amp.total_cmp(&a.amp));
            let n = g.len();
            (g, IslandOutcome::Fitted { gaussians: n })
        }
        Ok(_) => (
            Vec::new(),
            IslandOutcome::Failed {
                reason: "every fitted Gaussian was rejected by the flagging rules".into(),
            },
        ),
        Err(reason) => (Vec::new(), IslandOutcome::Failed { reason }),
    };
    let (mut sum, mut sum2) = (0.0, 0.0);
    for &(x, y) in &island.pixels {
        let model: f64 = gaussians
            .iter()
            .map(|g| g.value_at(x as f64, y as f64))
            .sum();
        let r = f64::from(image[[y, x]]) - model;
        sum += r;
        sum2 += r * r;
    }
    let n = island.pixels.len() as f64;
    let resid_mean = sum / n;
    let resid_rms = (sum2 / n - resid_mean * resid_mean).max(0.0).sqrt();
    IslandFit {
        gaussians,
        outcome,
        resid_mean,
        resid_rms,
    }
}

/// Beam-shaped start at (x, y) with amplitude `amp`; the major axis is
/// stretched by 10% so that a round beam still has a defined angle.
fn beam_guess(amp: f64, x: f64, y: f64, beam: BeamPix) -> [f64; NPAR] {
    [
        amp,
        x,
        y,
        1.1 * beam.maj_fwhm_pix / FWSIG,
        beam.min_fwhm_pix / FWSIG,
        beam.pa_deg.to_radians(),
    ]
}

/// Local maxima of the island: brighter than (or equal to and earlier than) all
/// members within half a beam FWHM, above `threshold`, brightest first, at
/// least max(0.5 beam FWHM, 2.2) pixels apart.
fn local_maxima(pixels: &Pixels, beam: BeamPix, threshold: f64) -> Vec<(f64, f64, f64)> {
    let island = pixels.island;
    let (bx0, by0, bx1, by1) = island.bbox;
    let radius = (0.5 * beam.maj_fwhm_pix).max(1.0);
    let r = radius.ceil() as i64;
    let box_w = bx1 - bx0 + 1;
    let mut grid = vec![f64::NEG_INFINITY; box_w * (by1 - by0 + 1)];
    for (k, &(x, y)) in island.pixels.iter().enumerate() {
        grid[(y - by0) * box_w + (x - bx0)] = island.values[k];
    }
    let mut candidates = Vec::new();
    for (k, &(x, y)) in island.pixels.iter().enumerate() {
        let v = island.values[k];
        if v < threshold {
            continue;
        }
        let mut is_max = true;
        'search: for dy in -r..=r {
            for dx in -r..=r {
                if (dx == 0 && dy == 0) || ((dx * dx + dy * dy) as f64) > radius * radius {
                    continue;
                }
                let (xx, yy) = (x as i64 + dx, y as i64 + dy);
                if xx < bx0 as i64 || yy < by0 as i64 || xx > bx1 as i64 || yy > by1 as i64 {
                    continue;
                }
                let w = grid[(yy as usize - by0) * box_w + (xx as usize - bx0)];
                // ties go to the earlier pixel in raster order
                if w > v || (w == v && (yy, xx) < (y as i64, x as i64)) {
                    is_max = false;
                    break 'search;
                }
            }
        }
        if is_max {
            candidates.push((x as f64, y as f64, v));
        }
    }
    candidates.sort_by(|a, b| b.2.total_cmp(&a.2));
    let min_sep = (0.5 * beam.maj_fwhm_pix).max(2.2);
    let mut kept: Vec<(f64, f64, f64)> = Vec::new();
    for c in candidates {
        if kept
            .iter()
            .all(|k| ((k.0 - c.0).powi(2) + (k.1 - c.1).powi(2)).sqrt() >= min_sep)
        {
            kept.push(c);
        }
    }
    kept
}

/// Bounds of one component's parameters for an island with this bounding box.
/// Sizes are at least the beam's minor axis and at most twice the island's
/// extent, or `max_sigma` when given (window fits).
fn bounds(
    bbox: (usize, usize, usize, usize),
    beam: BeamPix,
    max_sigma: Option<f64>,
) -> ([f64; NPAR], [f64; NPAR]) {
    let (x0, y0, x1, y1) = bbox;
    let extent = ((x1 - x0 + 1).max(y1 - y0 + 1)) as f64;
    let min_sigma = beam.min_fwhm_pix / FWSIG;
    let max_sigma = max_sigma
        .unwrap_or_else(|| (2.0 * extent / FWSIG).max(3.0 * beam.maj_fwhm_pix / FWSIG))
        .max(min_sigma * 1.5);
    let margin = 3.0;
    (
        [
            0.0,
            x0 as f64 - margin,
            y0 as f64 - margin,
            min_sigma,
            min_sigma,
            -1e3,
        ],
        [
            f64::MAX,
            x1 as f64 + margin,
            y1 as f64 + margin,
            max_sigma,
            max_sigma,
            1e3,
        ],
    )
}

/// Runs LM on `components` over `data`; `Err` when it did not converge.
fn run_fit(
    data: &FitData,
    components: &[[f64; NPAR]],
    bbox: (usize, usize, usize, usize),
    beam: BeamPix,
    opts: &FindOptions,
    max_sigma: Option<f64>,
) -> Result<(Vec<[f64; NPAR]>, f64), String> {
    let (lo, hi) = bounds(bbox, beam, max_sigma);
    let start: Vec<f64> = components.iter().flatten().copied().collect();
    let lower: Vec<f64> = components.iter().flat_map(|_| lo).collect();
    let upper: Vec<f64> = components.iter().flat_map(|_| hi).collect();
    // Six free parameters per Gaussian need more pixels than parameters; with
    // fewer, the shape is held at the beam (PyBDSF does the same).
    let npix = data.values.len();
    let mask: FreeMask = if npix > NPAR * components.len() {
        [true; NPAR]
    } else {
        [true, true, true, false, false, false]
    };
    let free = vec![mask; components.len()];
    let result = lm::fit(data, &start, &lower, &upper, &free, opts.max_iterations);
    if !result.converged {
        return Err(format!(
            "fit of {} Gaussian(s) did not converge in {} iterations",
            components.len(),
            opts.max_iterations
        ));
    }
    let comps = result
        .params
        .chunks_exact(NPAR)
        .map(|c| {
            let mut a = [0.0; NPAR];
            a.copy_from_slice(c);
            a
        })
        .collect();
    Ok((comps, result.cost))
}

/// PyBDSF's flag value of one fitted component (0 = good).
fn flag_of(p: &[f64; NPAR], pixels: &Pixels, beam: BeamPix, threshold: f64) -> u32 {
    if p.iter().any(|v| !v.is_finite()) || p[3] <= 0.0 || p[4] <= 0.0 {
        return 1 << 31;
    }
    let g = FittedGaussian::from_params(p);
    let island = pixels.island;
    let mut flag = 0;
    if g.amp < FLAG_MINSNR * threshold {
        flag |= 1;
    }
    let at_centre = pixels.value_near(g.x, g.y);
    if g.amp > FLAG_MAXSNR * island.peak.2 || at_centre.is_some_and(|v| g.amp > FLAG_MAXSNR * v) {
        flag |= 2;
    }
    let (x0, y0, x1, y1) = island.bbox;
    if g.x < x0 as f64 - 1.0 || g.x > x1 as f64 + 1.0 {
        flag |= 4;
    }
    if g.y < y0 as f64 - 1.0 || g.y > y1 as f64 + 1.0 {
        flag |= 8;
    }
    let (sin, cos) = g.pa_deg.to_radians().sin_cos();
    // FWHM extent of the ellipse along x and y (major axis along (-sin, cos))
    let extent_x = ((g.maj * sin).powi(2) + (g.min * cos).powi(2)).sqrt();
    let extent_y = ((g.maj * cos).powi(2) + (g.min * sin).powi(2)).sqrt();
    if extent_x > FLAG_MAXSIZE_ISL * (x1 - x0 + 1) as f64 {
        flag |= 16;
    }
    if extent_y > FLAG_MAXSIZE_ISL * (y1 - y0 + 1) as f64 {
        flag |= 32;
    }
    if g.maj * g.min > FLAG_MAXSIZE_BM * beam.maj_fwhm_pix * beam.min_fwhm_pix {
        flag |= 64;
    }
    if g.maj > 2.0 * g.min {
        // the ends of the major axis at flag_maxsize_fwhm x FWHM must be island pixels
        let half = FLAG_MAXSIZE_FWHM * g.maj;
        let ends = [
            (g.x - half * sin, g.y + half * cos),
            (g.x + half * sin, g.y - half * cos),
        ];
        if ends.iter().any(|&(x, y)| !pixels.is_member(x, y)) {
            flag |= 256;
        }
    }
    flag
}

/// Fit -> flag -> refit with the good ones, up to `FLAG_ROUNDS` times.
fn fit_and_flag(
    data: &FitData,
    start: Vec<[f64; NPAR]>,
    pixels: &Pixels,
    beam: BeamPix,
    opts: &FindOptions,
    threshold: f64,
) -> Result<(Vec<[f64; NPAR]>, f64), String> {
    let mut comps = start;
    let mut cost = f64::INFINITY;
    for _ in 0..FLAG_ROUNDS {
        if comps.is_empty() {
            return Ok((comps, cost));
        }
        let (fitted, c) = run_fit(data, &comps, pixels.island.bbox, beam, opts, None)?;
        cost = c;
        let good: Vec<[f64; NPAR]> = fitted
            .iter()
            .filter(|p| flag_of(p, pixels, beam, threshold) == 0)
            .copied()
            .collect();
        if good.len() == fitted.len() {
            return Ok((good, cost));
        }
        comps = good;
    }
    // the last refit still flagged some: keep only the good ones, unrefitted
    let good = comps
        .into_iter()
        .filter(|p| flag_of(p, pixels, beam, threshold) == 0)
        .collect();
    Ok((good, cost))
}

/// Largest residual (data - model) over the island and where.
fn residual_peak(data: &FitData, comps: &[[f64; NPAR]]) -> (f64, f64, f64) {
    let mut best = (f64::NEG_INFINITY, 0.0, 0.0);
    let comps: Vec<lm::Component> = comps.iter().map(|c| lm::Component::new(c)).collect();
    for i in 0..data.values.len() {
        let m: f64 = comps.iter().map(|c| c.value(data.xs[i], data.ys[i])).sum();
        let r = data.values[i] - m;
        if r > best.0 {
            best = (r, data.xs[i], data.ys[i]);
        }
    }
    best
}

fn fit_joint(
    pixels: &Pixels,
    beam: BeamPix,
    opts: &FindOptions,
    threshold: f64,
) -> Result<Vec<FittedGaussian>, String> {
    let island = pixels.island;
    // members plus the ring of pixels just below the threshold around them
    let mut xs = pixels.xs.clone();
    let mut ys = pixels.ys.clone();
    let mut values = island.values.clone();
    xs.extend(island.ring.iter().map(|p| p.0 as f64));
    ys.extend(island.ring.iter().map(|p| p.1 as f64));
    values.extend_from_slice(&island.ring_values);
    let data = FitData {
        xs: &xs,
        ys: &ys,
        values: &values,
    };
    let mut guesses: Vec<[f64; NPAR]> = local_maxima(pixels, beam, threshold)
        .into_iter()
        .take(opts.max_gaussians_per_island)
        .map(|(x, y, v)| beam_guess(v, x, y, beam))
        .collect();
    if guesses.is_empty() {
        let (x, y, v) = island.peak;
        guesses.push(beam_guess(v, x as f64, y as f64, beam));
    }
    let first = fit_and_flag(&data, guesses, pixels, beam, opts, threshold);
    let (mut comps, mut cost) = match first {
        Ok((c, cost)) if !c.is_empty() => (c, cost),
        other => {
            // PyBDSF's fallback: start again from one Gaussian at the maximum
            let (x, y, v) = island.peak;
            let single = vec![beam_guess(v, x as f64, y as f64, beam)];
            match fit_and_flag(&data, single, pixels, beam, opts, threshold) {
                Ok((c, cost)) if !c.is_empty() => (c, cost),
                Ok(_) => return other.map(|_| Vec::new()),
                Err(e) => return Err(other.err().unwrap_or(e)),
            }
        }
    };
    // An extra Gaussian must lower chi^2 by thresh_isl^2: significant at the
    // island threshold. The residual sum of squares is turned into chi^2 of
    // independent samples by the beam-correlated noise: a beam-shaped
    // component of amplitude a sigma lowers it by a^2 sigma^2 (beam area / 2).
    let chi2_unit = island.rms * island.rms * beam_area_pix(beam) / 2.0;
    let min_gain = opts.thresh_isl * opts.thresh_isl * chi2_unit;
    // add Gaussians at the residual peak while the residual justifies it
    while comps.len() < opts.max_gaussians_per_island {
        let (peak, x, y) = residual_peak(&data, &comps);
        if peak < threshold {
            break;
        }
        let mut trial = comps.clone();
        trial.push(beam_guess(peak, x, y, beam));
        match fit_and_flag(&data, trial, pixels, beam, opts, threshold) {
            Ok((c, new_cost)) if c.len() > comps.len() && cost - new_cost >= min_gain => {
                comps = c;
                cost = new_cost;
            }
            _ => break,
        }
    }
    // drop the faintest Gaussian while the others fit (nearly) as well without it
    while comps.len() > 1 {
        let faintest = (0..comps.len())
            .min_by(|&a, &b| comps[a][0].total_cmp(&comps[b][0]))
            .unwrap_or(0);
        let mut fewer = comps.clone();
        fewer.remove(faintest);
        match fit_and_flag(&data, fewer, pixels, beam, opts, threshold) {
            Ok((c, new_cost))
                if !c.is_empty() && c.len() < comps.len() && new_cost - cost < min_gain =>
            {
                comps = c;
                cost = new_cost;
            }
            _ => break,
        }
    }
    Ok(comps
        .iter()
        .map(|p| FittedGaussian::from_params(p))
        .collect())
}

/// A single Gaussian for a whole large island (one smooth source bigger than
/// the fitting windows, which window-sized Gaussians cannot represent: they
/// overshoot its plateau). Fitted to every k-th pixel along x and y, k chosen
/// so that at most `max_joint_fit_pixels` take part, started from the
/// island's flux-weighted moments. Kept when PyBDSF's flags other than the
/// 25-beam size flag (this path exists for emission beyond that size) pass and
/// it leaves at most a tenth of the island's squared signal unexplained.
fn fit_whole_island(
    pixels: &Pixels,
    beam: BeamPix,
    opts: &FindOptions,
    threshold: f64,
) -> Option<[f64; NPAR]> {
    let island = pixels.island;
    let n = island.pixels.len();
    let k = ((n as f64 / opts.max_joint_fit_pixels.max(1) as f64)
        .sqrt()
        .ceil() as usize)
        .max(1);
    let chosen: Vec<usize> = (0..n)
        .filter(|&i| island.pixels[i].0.is_multiple_of(k) && island.pixels[i].1.is_multiple_of(k))
        .collect();
    if chosen.len() <= 2 * NPAR {
        return None;
    }
    let xs: Vec<f64> = chosen.iter().map(|&i| pixels.xs[i]).collect();
    let ys: Vec<f64> = chosen.iter().map(|&i| pixels.ys[i]).collect();
    let vs: Vec<f64> = chosen.iter().map(|&i| island.values[i]).collect();
    let (mut w, mut mx, mut my) = (0.0, 0.0, 0.0);
    for ((&x, &y), &v) in xs.iter().zip(&ys).zip(&vs) {
        let v = v.max(0.0);
        w += v;
        mx += v * x;
        my += v * y;
    }
    if w <= 0.0 {
        return None;
    }
    let (mx, my) = (mx / w, my / w);
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for ((&x, &y), &v) in xs.iter().zip(&ys).zip(&vs) {
        let v = v.max(0.0);
        sxx += v * (x - mx).powi(2);
        syy += v * (y - my).powi(2);
        sxy += v * (x - mx) * (y - my);
    }
    let (sxx, syy, sxy) = (sxx / w, syy / w, sxy / w);
    let half_trace = 0.5 * (sxx + syy);
    let root = (0.25 * (sxx - syy).powi(2) + sxy * sxy).sqrt();
    let min_sigma = beam.min_fwhm_pix / FWSIG;
    let s_maj = (half_trace + root).max(0.0).sqrt().max(min_sigma * 1.01);
    let s_min = (half_trace - root).max(0.0).sqrt().max(min_sigma * 1.01);
    // major axis direction (cos t, sin t) in x, y; the angle convention of the
    // fit is CCW from +y, so the major axis is at t - 90 degrees
    let t = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let start = [
        island.peak.2,
        mx,
        my,
        s_maj,
        s_min,
        t - std::f64::consts::FRAC_PI_2,
    ];
    let data = FitData {
        xs: &xs,
        ys: &ys,
        values: &vs,
    };
    let (fitted, _) = run_fit(&data, &[start], island.bbox, beam, opts, None).ok()?;
    let p = fitted[0];
    if flag_of(&p, pixels, beam, threshold) & !64 != 0 {
        return None;
    }
    let signal: f64 = vs.iter().map(|v| v * v).sum();
    let component = lm::Component::new(&p);
    let unexplained: f64 = xs
        .iter()
        .zip(&ys)
        .zip(&vs)
        .map(|((&x, &y), &v)| (v - component.value(x, y)).powi(2))
        .sum();
    (unexplained <= 0.1 * signal).then_some(p)
}

/// Large islands: one Gaussian at a time, fitted to the residual in a window
/// around its peak, until the residual peak is below the threshold or the
/// Gaussian limit is reached.
fn fit_windowed(
    pixels: &Pixels,
    beam: BeamPix,
    opts: &FindOptions,
    threshold: f64,
) -> Result<Vec<FittedGaussian>, String> {
    let island = pixels.island;
    let mut residual = island.values.clone();
    let radius = (3.0 * beam.maj_fwhm_pix).max(8.0);
    let mut accepted: Vec<[f64; NPAR]> = Vec::new();
    let mut last_error = None;
    let mut threshold = threshold;
    if let Some(big) = fit_whole_island(pixels, beam, opts, threshold) {
        let component = lm::Component::new(&big);
        for (r, (&x, &y)) in residual.iter_mut().zip(pixels.xs.iter().zip(&pixels.ys)) {
            *r -= component.value(x, y);
        }
        accepted.push(big);
        // what is left over must be a detection on its own, not the noise
        // peaks of a large island
        threshold *= opts.thresh_pix / opts.thresh_isl;
    }
    for _ in accepted.len()..opts.max_gaussians_per_island {
        let (k, &peak) = match residual
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        {
            Some(best) => best,
            None => break,
        };
        if peak < threshold {
            break;
        }
        let (px, py) = (pixels.xs[k], pixels.ys[k]);
        let window: Vec<usize> = (0..residual.len())
            .filter(|&i| {
                (pixels.xs[i] - px).powi(2) + (pixels.ys[i] - py).powi(2) <= radius * radius
            })
            .collect();
        let xs: Vec<f64> = window.iter().map(|&i| pixels.xs[i]).collect();
        let ys: Vec<f64> = window.iter().map(|&i| pixels.ys[i]).collect();
        let vs: Vec<f64> = window.iter().map(|&i| residual[i]).collect();
        let data = FitData {
            xs: &xs,
            ys: &ys,
            values: &vs,
        };
        let start = vec![beam_guess(peak, px, py, beam)];
        // sizes limited to the window, so extended emission is tiled by
        // window-sized Gaussians rather than one that the size flags reject
        let fitted = run_fit(&data, &start, island.bbox, beam, opts, Some(radius / 2.0));
        let good = match fitted {
            Ok((c, _)) if flag_of(&c[0], pixels, beam, threshold) == 0 => Some(c[0]),
            Ok(_) => None,
            Err(e) => {
                last_error = Some(e);
                None
            }
        };
        // subtract the accepted Gaussian, or a beam-shaped one to move past the peak
        let subtract = good.unwrap_or_else(|| {
            let mut b = beam_guess(peak, px, py, beam);
            b[3] = beam.maj_fwhm_pix / FWSIG;
            b
        });
        let subtract = lm::Component::new(&subtract);
        for (r, (&x, &y)) in residual.iter_mut().zip(pixels.xs.iter().zip(&pixels.ys)) {
            *r -= subtract.value(x, y);
        }
        if let Some(g) = good {
            accepted.push(g);
        }
    }
    if accepted.is_empty() {
        if let Some(e) = last_error {
            return Err(e);
        }
    }
    Ok(accepted
        .iter()
        .map(|p| FittedGaussian::from_params(p))
        .collect())
}
