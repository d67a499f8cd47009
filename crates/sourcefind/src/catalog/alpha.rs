//! Spectral index per component for SE images (the `Alpha`, `AlphaErr`
//! columns of NRAO's SE component lists), from one of two sources:
//!
//! * Taylor terms: alpha = tt1 / tt0 at the pixel nearest the component
//!   centre (what CASA's alpha image holds per pixel), with
//!   AlphaErr = sqrt(s1^2 + alpha^2 s0^2) / |tt0|, s0 = the tt0 local noise
//!   (the row's Isl_rms), s1 = robust sigma (1.4826 MAD) of tt1 in a
//!   box around the component;
//! * alpha and alpha.error images: their values at that pixel.
//!
//! NaN where the images are blank or the centre lies off the image.

use ndarray::ArrayView2;
use vlass_imstats::median_and_robust_noise;

/// Half-width (pixels) of the box in which the tt1 noise is measured.
pub const TT1_NOISE_HALF_BOX: usize = 50;

/// Where Alpha/AlphaErr come from.
pub enum SpectralIndexInput<'a> {
    /// Taylor-term images tt0 and tt1 (same grid as the detection image).
    Taylor {
        tt0: ArrayView2<'a, f32>,
        tt1: ArrayView2<'a, f32>,
    },
    /// Precomputed alpha and alpha.error images.
    Maps {
        alpha: ArrayView2<'a, f32>,
        alpha_error: ArrayView2<'a, f32>,
    },
}

impl SpectralIndexInput<'_> {
    /// One sentence for the catalogue header saying how Alpha was obtained.
    pub fn description(&self) -> &'static str {
        match self {
            SpectralIndexInput::Taylor { .. } => {
                "Alpha = tt1/tt0 at the pixel nearest the component centre; \
AlphaErr from the tt0 Isl_rms and the robust sigma of tt1 in a 101x101-pixel box"
            }
            SpectralIndexInput::Maps { .. } => {
                "Alpha, AlphaErr = values of the alpha and alpha.error images \
at the pixel nearest the component centre"
            }
        }
    }

    /// (Alpha, AlphaErr) for a component at 0-based pixel (x, y) whose tt0
    /// local noise is `tt0_rms`.
    pub fn at(&self, x: f64, y: f64, tt0_rms: f64) -> (f64, f64) {
        let grid = match self {
            SpectralIndexInput::Taylor { tt0, .. } => tt0.dim(),
            SpectralIndexInput::Maps { alpha, .. } => alpha.dim(),
        };
        let Some((px, py)) = nearest_pixel(x, y, grid) else {
            return (f64::NAN, f64::NAN);
        };
        match self {
            SpectralIndexInput::Taylor { tt0, tt1 } => {
                let i0 = tt0[[py, px]] as f64;
                let i1 = tt1[[py, px]] as f64;
                let alpha = i1 / i0;
                let s1 = robust_sigma_around(*tt1, px, py, TT1_NOISE_HALF_BOX);
                let err = (s1 * s1 + alpha * alpha * tt0_rms * tt0_rms).sqrt() / i0.abs();
                if alpha.is_finite() {
                    (alpha, err)
                } else {
                    (f64::NAN, f64::NAN)
                }
            }
            SpectralIndexInput::Maps { alpha, alpha_error } => {
                (alpha[[py, px]] as f64, alpha_error[[py, px]] as f64)
            }
        }
    }
}

fn nearest_pixel(x: f64, y: f64, (ny, nx): (usize, usize)) -> Option<(usize, usize)> {
    let (px, py) = (x.round(), y.round());
    (px >= 0.0 && py >= 0.0 && (px as usize) < nx && (py as usize) < ny)
        .then_some((px as usize, py as usize))
}

/// 1.4826 x the median absolute deviation of the finite pixels in the box
/// of half-width `half` around (px, py); NaN if fewer than 10 are finite.
pub fn robust_sigma_around(image: ArrayView2<f32>, px: usize, py: usize, half: usize) -> f64 {
    let (ny, nx) = image.dim();
    let (x0, x1) = (px.saturating_sub(half), (px + half).min(nx - 1));
    let (y0, y1) = (py.saturating_sub(half), (py + half).min(ny - 1));
    let values: Vec<f32> = image
        .slice(ndarray::s![y0..=y1, x0..=x1])
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if values.len() < 10 {
        return f64::NAN;
    }
    median_and_robust_noise(&values).map_or(f64::NAN, |(_, sigma)| sigma)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn taylor_ratio_and_error_propagation() {
        let mut tt0 = Array2::<f32>::zeros((30, 30));
        let mut tt1 = Array2::<f32>::zeros((30, 30));
        // tt1 noise: alternating +-1e-3 gives MAD 1e-3
        for ((y, x), v) in tt1.indexed_iter_mut() {
            *v = if (x + y) % 2 == 0 { 1e-3 } else { -1e-3 };
        }
        tt0[[10, 12]] = 0.01;
        tt1[[10, 12]] = -0.007;
        let input = SpectralIndexInput::Taylor {
            tt0: tt0.view(),
            tt1: tt1.view(),
        };
        let (alpha, err) = input.at(12.3, 9.8, 1e-4);
        assert!((alpha + 0.7).abs() < 1e-6);
        let s1 = 1.4826e-3;
        let expected = (s1 * s1 + 0.49 * 1e-8_f64).sqrt() / 0.01;
        assert!((err - expected).abs() / expected < 1e-4, "{err} {expected}");
        assert!(input.at(-3.0, 5.0, 1e-4).0.is_nan());
    }

    #[test]
    fn maps_are_sampled_at_the_nearest_pixel() {
        let mut alpha = Array2::<f32>::from_elem((5, 5), f32::NAN);
        let err = Array2::<f32>::from_elem((5, 5), 0.25);
        alpha[[3, 1]] = -0.5;
        let input = SpectralIndexInput::Maps {
            alpha: alpha.view(),
            alpha_error: err.view(),
        };
        assert_eq!(input.at(1.2, 2.6, 0.0), (-0.5, 0.25));
        assert!(input.at(0.0, 0.0, 0.0).0.is_nan());
    }
}
