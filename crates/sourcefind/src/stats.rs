//! Robust statistics of a set of pixel values: PyBDSF's `bstat` sigma clipping
//! (median-centred, kappa from the number of beams, truncation-corrected sigma,
//! mode estimate of the mean) and the inverse normal CDF it needs.

/// Clipping stops when fewer than this fraction of the kept pixels changed in
/// the last pass. PyBDSF uses 1e-6, which for boxes of 10^4 pixels means "no
/// pixel changed" and costs many passes; 1e-4 changes the clipped rms by far
/// less than its own statistical error (about 1/sqrt(2 x independent beams)).
const CONVERGED_FRACTION: f64 = 1e-4;

/// Clipped statistics of one set of pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClippedStats {
    /// Mode estimate 2.5 median - 1.5 mean when the clipped distribution is
    /// nearly symmetric (|mean - median| <= 0.3 sigma), else the median.
    pub mean: f64,
    /// Clipped standard deviation corrected for the truncation at +-kappa sigma.
    pub rms: f64,
    /// Pixels kept after the last clipping pass.
    pub kept: usize,
}

/// Inverse of the standard normal cumulative distribution (Acklam's rational
/// approximation, relative error below 1.2e-9), for p in (0, 1).
pub fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p_low = 0.02425;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -inverse_normal_cdf(1.0 - p)
    }
}

/// Error function (Abramowitz & Stegun 7.1.26 is too coarse; this uses the
/// complementary-error continued expansion of Numerical Recipes `erfcc`,
/// fractional error below 1.2e-7).
pub fn erf(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - erfc
    } else {
        erfc - 1.0
    }
}

/// PyBDSF's clipping factor: the kappa at which one false pixel per box is
/// expected among `npix / npix_beam` independent beams (two-sided), at least 3.
pub fn kappa_for(npix: usize, npix_beam: f64) -> f64 {
    let ratio = npix_beam.max(1.0) / (2.0 * npix.max(1) as f64);
    if ratio >= 1.0 {
        return 3.0;
    }
    // sqrt(2) erfcinv(r) = -Phi^-1(r / 2)
    (-inverse_normal_cdf(ratio / 2.0)).max(3.0)
}

/// Median of a slice (reorders it); the mean of the two middle values for an
/// even count, as numpy does. `None` for an empty slice.
pub fn median_in_place(values: &mut [f32]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (left, upper, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    let upper = f64::from(*upper);
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower = left.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    Some(0.5 * (f64::from(lower) + upper))
}

fn mean_and_std(values: &[f32]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

/// A set of samples that PyBDSF's clipping can work on: a plain buffer here,
/// the shared sorted cells of the background grid in `boxstats`.
pub(crate) trait ClipSet {
    /// Number of samples kept.
    fn count(&self) -> usize;
    /// Median of the kept samples (the mean of the middle two for an even
    /// count); may reorder them.
    fn median(&mut self) -> f64;
    /// Mean and population standard deviation of the kept samples.
    fn mean_and_std(&self) -> (f64, f64);
    /// Keeps only samples with lo <= v <= hi.
    fn retain_within(&mut self, lo: f64, hi: f64);
}

impl ClipSet for Vec<f32> {
    fn count(&self) -> usize {
        self.len()
    }
    fn median(&mut self) -> f64 {
        median_in_place(self).unwrap_or(f64::NAN)
    }
    fn mean_and_std(&self) -> (f64, f64) {
        mean_and_std(self)
    }
    fn retain_within(&mut self, lo: f64, hi: f64) {
        self.retain(|&v| f64::from(v) >= lo && f64::from(v) <= hi);
    }
}

/// PyBDSF's `bstat` (with the stopping rule of `CONVERGED_FRACTION`) on finite values (the buffer is reordered and truncated).
/// Returns `None` when fewer than 2 values are given.
pub fn clipped_stats(values: &mut Vec<f32>, kappa: f64) -> Option<ClippedStats> {
    clip_set(values, kappa)
}

/// `clipped_stats` on any [`ClipSet`] of finite samples.
pub(crate) fn clip_set(values: &mut impl ClipSet, kappa: f64) -> Option<ClippedStats> {
    if values.count() < 2 {
        return None;
    }
    let (raw_mean, raw_std) = values.mean_and_std();
    let mut previous = values.count();
    let mut converged = false;
    let mut median = 0.0;
    let mut mean = raw_mean;
    let mut std = raw_std;
    for _ in 0..200 {
        median = values.median();
        let (m, s) = values.mean_and_std();
        mean = m;
        std = s;
        if std <= 0.0 {
            converged = true;
            break;
        }
        values.retain_within(median - kappa * std, median + kappa * std);
        let kept = values.count();
        if kept < 2 {
            break;
        }
        let change = previous.abs_diff(kept) as f64;
        previous = kept;
        if change < CONVERGED_FRACTION * previous as f64 {
            converged = true;
            break;
        }
    }
    if !converged {
        return Some(ClippedStats {
            mean: raw_mean,
            rms: raw_std,
            kept: values.count(),
        });
    }
    let r1 = (2.0 * std::f64::consts::PI).sqrt() * erf(kappa / 2f64.sqrt());
    let correction = (r1 / (r1 - 2.0 * kappa * (-kappa * kappa / 2.0).exp())).sqrt();
    let rms = std * correction;
    let centre = if rms > 0.0 && (mean - median).abs() / rms <= 0.3 {
        2.5 * median - 1.5 * mean
    } else {
        median
    };
    Some(ClippedStats {
        mean: centre,
        rms,
        kept: values.count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_normal_matches_tables() {
        // scipy.stats.norm.ppf values
        assert!((inverse_normal_cdf(0.975) - 1.959963984540054).abs() < 1e-8);
        assert!((inverse_normal_cdf(0.001) + 3.090232306167813).abs() < 1e-8);
        assert!((inverse_normal_cdf(0.5)).abs() < 1e-12);
    }

    #[test]
    fn erf_matches_tables() {
        // math.erf
        assert!((erf(1.0) - 0.8427007929497149).abs() < 2e-7);
        assert!((erf(-0.5) + 0.5204998778130465).abs() < 2e-7);
        assert!((erf(3.0) - 0.9999779095030014).abs() < 2e-7);
    }

    #[test]
    fn kappa_rule() {
        // 40000 pixels, 17-pixel beam: sqrt(2) * scipy.special.erfcinv(17 / 80000)
        let k = kappa_for(40_000, 17.0);
        assert!((k - 3.703673173995029).abs() < 1e-6, "{k}");
        assert_eq!(kappa_for(100, 17.0), 3.0);
    }

    #[test]
    fn median_even_and_odd() {
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median_in_place(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median_in_place(&mut []), None);
    }

    #[test]
    fn clipping_ignores_outliers() {
        // A uniform-spaced symmetric set from the normal quantiles plus a few huge outliers:
        // the clipped rms must stay near 1 and the mean near 0.
        let n = 20_000;
        let mut v: Vec<f32> = (0..n)
            .map(|i| inverse_normal_cdf((i as f64 + 0.5) / n as f64) as f32)
            .collect();
        v.extend(std::iter::repeat_n(500.0, 50));
        let s = clipped_stats(&mut v, 3.0).expect("stats");
        assert!((s.rms - 1.0).abs() < 0.01, "{s:?}");
        assert!(s.mean.abs() < 0.01, "{s:?}");
    }
}
