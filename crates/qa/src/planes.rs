//! Coarse-cube plane rejection: which planes (spectral windows) of a cube are unusable, and
//! why. The rules, each justified in the README and in [`crate::thresholds::DEFAULTS`]:
//!
//! 1. `plane_blank_fraction`: more than `cc.blankfractionmax` of the plane is blank
//!    (the CASA pipeline's `flagpct_thresh`, here measured on the image itself).
//! 2. `plane_beam_missing`: the plane has no restoring beam, so nothing can be measured in Jy.
//! 3. `plane_beam_placeholder`: the beam is exactly circular with PA exactly 0, the beam
//!    CASA writes when its PSF fit fails; a fitted PSF never comes out like that.
//! 4. `plane_beam_deviation`: the CASA pipeline's `vlass_plane_reject_im` test. Reference
//!    = median over planes of BMIN x frequency (planes with a fitted beam), expected beam at
//!    frequency f = reference / f; BMAJ and BMIN must each be within `cc.beamdeviationmax`
//!    of it.
//! 5. `plane_noise_outlier`: with at least `cc.noiseminplanes` planes, a plane whose robust
//!    noise is an upper outlier among the planes: modified z-score (Iglewicz & Hoaglin)
//!    0.6745 (ln n - median ln n) / MAD(ln n) above `cc.noiseoutlierz`, and at the same time
//!    more than `cc.noiseexcessmin` times the median plane noise. The logarithm makes the
//!    test about ratios (noise of equal-bandwidth planes is multiplicative in Tsys and
//!    data loss); the excess floor keeps a very uniform set of planes (tiny MAD) from
//!    rejecting a plane for a few per cent.

use crate::thresholds::PlaneThresholds;
use crate::verdict::{Reason, Status};
use vlass_imstats::median_and_robust_noise;

/// Consistency constant of the modified z-score: 0.6745 = Phi^-1(0.75), so that
/// z = 0.6745 (x - median) / MAD is a standard score for Gaussian data.
const MODIFIED_Z_SCALE: f64 = 0.6745;

/// What the rejection rules need to know about one plane.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneInput {
    /// Centre frequency, Hz.
    pub frequency_hz: Option<f64>,
    /// (BMAJ arcsec, BMIN arcsec, BPA deg).
    pub beam: Option<(f64, f64, f64)>,
    /// Robust noise of the plane, image units.
    pub robust_noise: Option<f64>,
    /// Fraction of non-finite pixels.
    pub blank_fraction: f64,
}

/// The verdict on one plane.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneDecision {
    /// True when any rule rejected the plane.
    pub rejected: bool,
    /// The rules that rejected it.
    pub reasons: Vec<Reason>,
}

fn is_placeholder(beam: (f64, f64, f64)) -> bool {
    beam.0 == beam.1 && beam.2 == 0.0
}

/// Decides, for each plane, whether it is rejected (same order as `planes`).
pub fn reject_planes(planes: &[PlaneInput], t: &PlaneThresholds) -> Vec<PlaneDecision> {
    let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); planes.len()];
    let reject = |rule: &str, msg: String, value: f64, threshold: f64| {
        Reason::numeric(rule, Status::Fail, msg, value, threshold)
    };

    for (i, p) in planes.iter().enumerate() {
        if p.blank_fraction > t.blank_fraction_max {
            reasons[i].push(reject(
                "plane_blank_fraction",
                format!(
                    "{:.1}% of the plane is blank (limit {:.1}%)",
                    100.0 * p.blank_fraction,
                    100.0 * t.blank_fraction_max
                ),
                p.blank_fraction,
                t.blank_fraction_max,
            ));
        }
        match p.beam {
            None => reasons[i].push(Reason::plain(
                "plane_beam_missing",
                Status::Fail,
                "the plane has no restoring beam".into(),
            )),
            Some(b) if t.reject_placeholder_beam && is_placeholder(b) => {
                reasons[i].push(Reason {
                    rule: "plane_beam_placeholder".into(),
                    severity: Status::Fail,
                    message: format!(
                        "beam {:.3}\" x {:.3}\" at PA 0 exactly: CASA's placeholder after a failed PSF fit",
                        b.0, b.1
                    ),
                    value: serde_json::json!(format!("{} x {} arcsec, PA {}", b.0, b.1, b.2)),
                    threshold: serde_json::json!("not exactly circular at PA 0"),
                    file: None,
                })
            }
            Some(_) => {}
        }
    }

    beam_deviation(planes, t, &mut reasons);
    noise_outliers(planes, t, &mut reasons);

    reasons
        .into_iter()
        .map(|r| PlaneDecision {
            rejected: !r.is_empty(),
            reasons: r,
        })
        .collect()
}

fn median(values: &[f64]) -> Option<f64> {
    let as_f32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    // f32 is enough for a reference beam or noise; exactness is not needed here, but the
    // median itself is computed by the same exact routine as every other median.
    median_and_robust_noise(&as_f32).map(|(m, _)| m)
}

fn beam_deviation(planes: &[PlaneInput], t: &PlaneThresholds, reasons: &mut [Vec<Reason>]) {
    let fitted = |p: &PlaneInput| -> Option<(f64, (f64, f64, f64))> {
        let f = p.frequency_hz.filter(|f| *f > 0.0)?;
        let b = p
            .beam
            .filter(|b| !(t.reject_placeholder_beam && is_placeholder(*b)))?;
        Some((f, b))
    };
    let products: Vec<f64> = planes
        .iter()
        .filter_map(fitted)
        .map(|(f, b)| b.1 * f)
        .collect();
    let Some(reference) = median(&products) else {
        return;
    };
    for (i, p) in planes.iter().enumerate() {
        let (Some(f), Some(b)) = (p.frequency_hz.filter(|f| *f > 0.0), p.beam) else {
            continue;
        };
        let expected = reference / f;
        for (axis, value) in [("BMAJ", b.0), ("BMIN", b.1)] {
            let deviation = (value / expected - 1.0).abs();
            if deviation > t.beam_deviation_max {
                reasons[i].push(Reason::numeric(
                    "plane_beam_deviation",
                    Status::Fail,
                    format!(
                        "{axis} {value:.3}\" is {:.1}% from the {expected:.3}\" expected at {:.4} GHz",
                        100.0 * deviation,
                        f / 1e9
                    ),
                    deviation,
                    t.beam_deviation_max,
                ));
            }
        }
    }
}

fn noise_outliers(planes: &[PlaneInput], t: &PlaneThresholds, reasons: &mut [Vec<Reason>]) {
    let logs: Vec<Option<f64>> = planes
        .iter()
        .map(|p| {
            p.robust_noise
                .filter(|n| *n > 0.0 && n.is_finite())
                .map(f64::ln)
        })
        .collect();
    let present: Vec<f64> = logs.iter().flatten().copied().collect();
    if present.len() < t.noise_min_planes.max(2) {
        return;
    }
    let Some(centre) = median(&present) else {
        return;
    };
    let deviations: Vec<f64> = present.iter().map(|l| (l - centre).abs()).collect();
    let Some(mad) = median(&deviations) else {
        return;
    };
    for (i, l) in logs.iter().enumerate() {
        let Some(l) = *l else { continue };
        let excess = (l - centre).exp();
        let z = if mad > 0.0 {
            MODIFIED_Z_SCALE * (l - centre) / mad
        } else if l > centre {
            f64::INFINITY
        } else {
            0.0
        };
        if z > t.noise_outlier_z && excess > t.noise_excess_min {
            reasons[i].push(Reason::numeric(
                "plane_noise_outlier",
                Status::Fail,
                format!(
                    "noise is {excess:.2}x the median plane noise (modified z-score {z:.1}, limit {}; excess limit {})",
                    t.noise_outlier_z, t.noise_excess_min
                ),
                z,
                t.noise_outlier_z,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thresholds::Thresholds;

    /// The eight planes of the simulated CASA cube (README-images: beam, noise per plane).
    fn casa_sim_like() -> Vec<PlaneInput> {
        let rows = [
            (2.125, 3.25, 3.13, -4.0, 374.0),
            (2.375, 2.90, 2.80, -5.1, 367.0),
            (2.625, 2.62, 2.53, -4.1, 347.0),
            (2.875, 2.39, 2.31, -3.7, 343.0),
            (3.125, 2.19, 2.12, -4.2, 344.0),
            (3.375, 2.03, 1.96, -4.7, 330.0),
            (3.625, 1.50, 1.50, 0.0, 508.0),
            (3.875, 1.76, 1.71, -3.9, 320.0),
        ];
        rows.iter()
            .map(|&(f, a, b, pa, n)| PlaneInput {
                frequency_hz: Some(f * 1e9),
                beam: Some((a, b, pa)),
                robust_noise: Some(n * 1e-6),
                blank_fraction: 0.0,
            })
            .collect()
    }

    fn rejected(d: &[PlaneDecision]) -> Vec<usize> {
        d.iter()
            .enumerate()
            .filter(|(_, d)| d.rejected)
            .map(|(i, _)| i)
            .collect()
    }

    fn rules(d: &PlaneDecision) -> Vec<&str> {
        d.reasons.iter().map(|r| r.rule.as_str()).collect()
    }

    #[test]
    fn bad_plane_is_rejected_by_beam_and_noise_rules() {
        let t = Thresholds::defaults().planes;
        let d = reject_planes(&casa_sim_like(), &t);
        assert_eq!(rejected(&d), vec![6]);
        assert_eq!(
            rules(&d[6]),
            vec!["plane_beam_placeholder", "plane_noise_outlier"]
        );
    }

    #[test]
    fn noise_rule_alone_catches_a_noisy_plane_with_a_good_beam() {
        let mut planes = casa_sim_like();
        planes[6].beam = Some((1.86, 1.83, -4.0));
        let d = reject_planes(&planes, &Thresholds::defaults().planes);
        assert_eq!(rejected(&d), vec![6]);
        assert_eq!(rules(&d[6]), vec!["plane_noise_outlier"]);
    }

    #[test]
    fn uniform_planes_do_not_reject_a_slightly_noisier_one() {
        // Tiny scatter: the z-score is huge but the 20% excess floor holds.
        let mut planes = casa_sim_like();
        for (i, p) in planes.iter_mut().enumerate() {
            p.robust_noise = Some(340e-6 * (1.0 + 1e-4 * i as f64));
        }
        planes[6].beam = Some((1.86, 1.83, -4.0));
        planes[3].robust_noise = Some(340e-6 * 1.15);
        let d = reject_planes(&planes, &Thresholds::defaults().planes);
        assert!(rejected(&d).is_empty(), "{d:?}");
    }

    #[test]
    fn beam_far_from_frequency_scaling_is_rejected() {
        let mut planes = casa_sim_like();
        planes[6].beam = Some((1.86, 1.83, -4.0));
        planes[6].robust_noise = Some(340e-6);
        planes[2].beam = Some((3.4, 3.3, 10.0)); // 30% too large for 2.625 GHz
        let d = reject_planes(&planes, &Thresholds::defaults().planes);
        assert_eq!(rejected(&d), vec![2]);
        assert_eq!(
            rules(&d[2]),
            vec!["plane_beam_deviation", "plane_beam_deviation"]
        );
    }

    #[test]
    fn blank_and_beamless_planes_are_rejected() {
        let mut planes = casa_sim_like();
        planes[6].beam = Some((1.86, 1.83, -4.0));
        planes[6].robust_noise = Some(340e-6);
        planes[0].blank_fraction = 0.9;
        planes[1].beam = None;
        let d = reject_planes(&planes, &Thresholds::defaults().planes);
        assert_eq!(rejected(&d), vec![0, 1]);
        assert_eq!(rules(&d[0]), vec!["plane_blank_fraction"]);
        assert_eq!(rules(&d[1]), vec!["plane_beam_missing"]);
    }

    #[test]
    fn too_few_planes_skip_the_noise_test() {
        let planes: Vec<_> = casa_sim_like().into_iter().skip(4).take(3).collect();
        let mut t = Thresholds::defaults().planes;
        t.reject_placeholder_beam = false;
        let d = reject_planes(&planes, &t);
        // Plane "6" (index 2 here) is noisy but three planes are too few to call it an outlier.
        assert!(d[2].reasons.iter().all(|r| r.rule != "plane_noise_outlier"));
    }
}
