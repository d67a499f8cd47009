//! Per-Gaussian uncertainties after Condon (1997) exactly as PyBDSF's
//! `functions.get_errors` computes them, and deconvolution from the restoring
//! beam (PyBDSF's `deconv2`, a port of Miriad's `gaupar`).

use crate::model::{BeamPix, Shape};

/// sqrt(8 ln 2): FWHM / sigma.
pub const FWSIG: f64 = 2.354_820_045_030_949_3;

/// Condon errors of one Gaussian. Sizes are FWHM in pixels, `pa_deg` CCW from
/// +y, `amp` the peak (Jy/beam), `noise` the island rms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CondonErrors {
    pub e_peak: f64,
    pub e_total: f64,
    pub e_x: f64,
    pub e_y: f64,
    pub e_maj: f64,
    pub e_min: f64,
    pub e_pa_deg: f64,
}

/// PyBDSF's Condon (1997) errors; see the crate notes for the formulas.
pub fn condon_errors(
    amp: f64,
    maj: f64,
    min: f64,
    pa_deg: f64,
    total: f64,
    beam: BeamPix,
    noise: f64,
) -> CondonErrors {
    let b2 = beam.maj_fwhm_pix * beam.min_fwhm_pix;
    let rho = |a: f64, b: f64| {
        (maj * min / (4.0 * b2)).sqrt()
            * (amp / noise)
            * (1.0 + b2 / (maj * maj)).powf(a / 2.0)
            * (1.0 + b2 / (min * min)).powf(b / 2.0)
    };
    let sqrt2 = 2f64.sqrt();
    let e_peak = sqrt2 * amp / rho(1.5, 1.5);
    let e_maj = sqrt2 * maj / rho(2.5, 0.5);
    let e_min = sqrt2 * min / rho(0.5, 2.5);
    let ellipticity = (maj * maj - min * min) / (maj * min);
    let e_pa_rad = 2.0 / (ellipticity * rho(0.5, 2.5));
    let e_pa_deg = if e_pa_rad.is_finite() {
        e_pa_rad.to_degrees().min(180.0)
    } else {
        180.0
    };
    let (sin, cos) = pa_deg.to_radians().sin_cos();
    let ln_factor = (8.0 * 2f64.ln()).sqrt();
    let e_x = ((e_maj * sin).powi(2) + (e_min * cos).powi(2)).sqrt() / ln_factor;
    let e_y = ((e_maj * cos).powi(2) + (e_min * sin).powi(2)).sqrt() / ln_factor;
    let e_total = total
        * ((e_peak / amp).powi(2)
            + b2 / (maj * min) * ((e_maj / maj).powi(2) + (e_min / min).powi(2)))
        .sqrt();
    CondonErrors {
        e_peak,
        e_total,
        e_x,
        e_y,
        e_maj,
        e_min,
        e_pa_deg,
    }
}

/// Deconvolves a fitted Gaussian (FWHM pixels, PA degrees CCW from +y) from the
/// beam (PyBDSF's `deconv2`). Returns (major, minor, PA in [0, 180)); both sizes
/// zero when the source is not larger than the beam along both axes, minor zero
/// when it is larger along one only.
pub fn deconvolve(maj: f64, min: f64, pa_deg: f64, beam: BeamPix) -> (f64, f64, f64) {
    let (s1, c1) = pa_deg.to_radians().sin_cos();
    let (s2, c2) = beam.pa_deg.to_radians().sin_cos();
    let (a1, b1) = (maj, min);
    let (a2, b2) = (beam.maj_fwhm_pix, beam.min_fwhm_pix);
    let alpha = (a1 * c1).powi(2) + (b1 * s1).powi(2) - (a2 * c2).powi(2) - (b2 * s2).powi(2);
    let beta = (a1 * s1).powi(2) + (b1 * c1).powi(2) - (a2 * s2).powi(2) - (b2 * c2).powi(2);
    let gamma = 2.0 * ((b1 * b1 - a1 * a1) * s1 * c1 - (b2 * b2 - a2 * a2) * s2 * c2);
    let s = alpha + beta;
    let t = ((alpha - beta).powi(2) + gamma * gamma).sqrt();
    if alpha < 0.0 || beta < 0.0 || s < t {
        let major = if alpha < 0.0 || beta < 0.0 {
            0.0
        } else {
            (0.5 * (s + t)).sqrt()
        };
        // PyBDSF keeps the PA of the fit when the minor axis vanishes
        let pa = if major > 0.0 {
            (0.5 * (-gamma).atan2(alpha - beta))
                .to_degrees()
                .rem_euclid(180.0)
        } else {
            0.0
        };
        return (major, 0.0, pa);
    }
    let major = (0.5 * (s + t)).sqrt();
    let minor = (0.5 * (s - t)).sqrt();
    let pa = if gamma.abs() + (alpha - beta).abs() == 0.0 {
        0.0
    } else {
        (0.5 * (-gamma).atan2(alpha - beta))
            .to_degrees()
            .rem_euclid(180.0)
    };
    (major, minor, pa)
}

/// The deconvolved shape with the fitted-size errors copied (PyBDSF's rule).
pub fn deconvolved_shape(fitted: &Shape, beam: BeamPix) -> Shape {
    let (maj, min, pa) = deconvolve(
        fitted.maj_fwhm_pix,
        fitted.min_fwhm_pix,
        fitted.pa_deg,
        beam,
    );
    Shape {
        maj_fwhm_pix: maj,
        e_maj_pix: fitted.e_maj_pix,
        min_fwhm_pix: min,
        e_min_pix: fitted.e_min_pix,
        pa_deg: pa,
        e_pa_deg: fitted.e_pa_deg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEAM: BeamPix = BeamPix {
        maj_fwhm_pix: 4.0,
        min_fwhm_pix: 3.4,
        pa_deg: 20.0,
    };

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn condon_errors_match_hand_computation() {
        // expected values: scripts/sourcefind/hand_values.py
        let total = 0.0030882352941176473;
        let e = condon_errors(2e-3, 5.0, 4.2, 30.0, total, BEAM, 1.5e-4);
        assert!(close(e.e_peak, 0.00016056513695224237, 1e-12), "{e:?}");
        assert!(close(e.e_total, 0.00037661431076809956, 1e-12), "{e:?}");
        assert!(close(e.e_x, 0.14744197788337474, 1e-12), "{e:?}");
        assert!(close(e.e_y, 0.17165727763353844, 1e-12), "{e:?}");
        assert!(close(e.e_maj, 0.4299063271926452, 1e-12), "{e:?}");
        assert!(close(e.e_min, 0.31483860148662735, 1e-12), "{e:?}");
        assert!(close(e.e_pa_deg, 17.330767451565624, 1e-12), "{e:?}");
        let round = BeamPix {
            maj_fwhm_pix: 4.0,
            min_fwhm_pix: 4.0,
            pa_deg: 0.0,
        };
        assert_eq!(
            condon_errors(1e-3, 4.0, 4.0, 0.0, 1e-3, round, 1e-4).e_pa_deg,
            180.0
        );
    }

    #[test]
    fn deconvolution_hand_cases() {
        // aligned: sizes subtract in quadrature, PA kept
        let (maj, min, pa) = deconvolve(5.0, (3.4f64.powi(2) + 2.0f64.powi(2)).sqrt(), 20.0, BEAM);
        assert!(
            close(maj, 3.0, 1e-12) && close(min, 2.0, 1e-12) && close(pa, 20.0, 1e-9),
            "{maj} {min} {pa}"
        );
        // larger along one axis only: minor 0
        let (maj, min, pa) = deconvolve(5.0, 3.4, 20.0, BEAM);
        assert!(
            close(maj, 3.0, 1e-9) && min < 1e-6 && close(pa, 20.0, 1e-6),
            "{maj} {min} {pa}"
        );
        // smaller than the beam: unresolved
        assert_eq!(deconvolve(3.9, 3.3, 20.0, BEAM), (0.0, 0.0, 0.0));
        // misaligned: scripts/sourcefind/hand_values.py
        let (maj, min, pa) = deconvolve(6.0, 4.5, 50.0, BEAM);
        assert!(close(maj, 4.623622909474479, 1e-12), "{maj}");
        assert!(close(min, 2.70409156482963, 1e-12), "{min}");
        assert!(close(pa, 57.932431459691195, 1e-10), "{pa}");
        // same result whichever way the PA is written
        let (maj2, min2, pa2) = deconvolve(6.0, 4.5, 230.0, BEAM);
        assert!(close(maj2, maj, 1e-12) && close(min2, min, 1e-12) && close(pa2, pa, 1e-9));
    }
}
