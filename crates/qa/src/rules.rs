//! QA rules: pure functions from metrics and thresholds to the reasons a product warns or
//! fails. Each rule has a stable name (used in JSON, CSV and the README table).

use crate::metrics::Metrics;
use crate::thresholds::KindThresholds;
use crate::verdict::{Reason, Status};

/// Rules for any image file: it must have finite pixels.
pub fn file_rules(metrics: &Metrics) -> Vec<Reason> {
    if metrics.pixels == 0 {
        vec![Reason::numeric(
            "no_finite_pixels",
            Status::Fail,
            "the image has no finite pixel (all NaN or infinite)".into(),
            0.0,
            1.0,
        )]
    } else {
        Vec::new()
    }
}

/// The noise a product is judged by: the rms image's median (VLASSRMS) when the product
/// has one, else the image's robust noise. Returns (value, which).
pub fn judged_noise(metrics: &Metrics) -> Option<(f64, &'static str)> {
    metrics
        .rms_median
        .map(|v| (v, "rms image median"))
        .or_else(|| metrics.robust_noise.map(|v| (v, "robust noise")))
}

/// Rules for the intensity image of a product (tt0 for QL/SE, the cube image for CC).
pub fn intensity_rules(metrics: &Metrics, t: &KindThresholds, beam_required: bool) -> Vec<Reason> {
    let mut out = Vec::new();
    if metrics.pixels == 0 {
        return out; // file_rules already failed it; nothing else can be measured
    }
    let ff = metrics.finite_fraction;
    if ff < t.finite_fraction_fail {
        out.push(Reason::numeric(
            "finite_fraction_low",
            Status::Fail,
            format!("only {:.1}% of the pixels are finite", 100.0 * ff),
            ff,
            t.finite_fraction_fail,
        ));
    } else if ff < t.finite_fraction_warn {
        out.push(Reason::numeric(
            "finite_fraction_low",
            Status::Warn,
            format!("only {:.1}% of the pixels are finite", 100.0 * ff),
            ff,
            t.finite_fraction_warn,
        ));
    }

    match metrics.robust_noise {
        Some(0.0) => out.push(Reason::numeric(
            "noise_zero",
            Status::Fail,
            "robust noise is zero: the image is constant over most pixels".into(),
            0.0,
            0.0,
        )),
        Some(_) => {}
        None => out.push(Reason::plain(
            "noise_not_finite",
            Status::Fail,
            "robust noise could not be measured".into(),
        )),
    }
    if let Some((noise, which)) = judged_noise(metrics) {
        let over = |limit: Option<f64>| limit.filter(|l| noise > *l);
        if let Some(limit) = over(t.noise_fail_jy) {
            out.push(Reason::numeric(
                "noise_high",
                Status::Fail,
                format!(
                    "{which} {:.1} uJy/beam is above {:.1} uJy/beam",
                    noise * 1e6,
                    limit * 1e6
                ),
                noise,
                limit,
            ));
        } else if let Some(limit) = over(t.noise_warn_jy) {
            out.push(Reason::numeric(
                "noise_high",
                Status::Warn,
                format!(
                    "{which} {:.1} uJy/beam is above {:.1} uJy/beam",
                    noise * 1e6,
                    limit * 1e6
                ),
                noise,
                limit,
            ));
        }
    }

    if let Some(dr) = metrics.dynamic_range {
        if dr > t.dynamic_range_max {
            out.push(Reason::numeric(
                "dynamic_range_implausible",
                Status::Fail,
                format!("peak / robust noise = {dr:.3e} is implausibly high"),
                dr,
                t.dynamic_range_max,
            ));
        } else if dr < t.dynamic_range_min {
            out.push(Reason::numeric(
                "dynamic_range_low",
                Status::Warn,
                format!("peak / robust noise = {dr:.2}: no source is detected"),
                dr,
                t.dynamic_range_min,
            ));
        }
    }

    match &metrics.beam {
        None => out.push(Reason::plain(
            "beam_missing",
            if beam_required {
                Status::Fail
            } else {
                Status::Warn
            },
            "no restoring beam (BMAJ/BMIN/BPA or BEAMS table)".into(),
        )),
        Some(b) => {
            if let Some(ratio) = b.axial_ratio.filter(|r| *r > t.beam_axial_ratio_max) {
                out.push(Reason::numeric(
                    "beam_axial_ratio",
                    Status::Fail,
                    format!(
                        "beam axial ratio {ratio:.2} is above {}",
                        t.beam_axial_ratio_max
                    ),
                    ratio,
                    t.beam_axial_ratio_max,
                ));
            }
            if let Some(px) = b.bmin_pixels.filter(|p| *p < t.beam_min_pixels) {
                out.push(Reason::numeric(
                    "beam_undersampled",
                    Status::Fail,
                    format!(
                        "beam minor axis is {px:.2} pixels, under {}",
                        t.beam_min_pixels
                    ),
                    px,
                    t.beam_min_pixels,
                ));
            }
            let g = b.geometric_mean_arcsec;
            if let Some(min) = t.beam_geomean_min_arcsec.filter(|m| g < *m) {
                out.push(Reason::numeric(
                    "beam_size",
                    Status::Warn,
                    format!("beam geometric mean {g:.2}\" is below {min}\""),
                    g,
                    min,
                ));
            }
            if let Some(max) = t.beam_geomean_max_arcsec.filter(|m| g > *m) {
                out.push(Reason::numeric(
                    "beam_size",
                    Status::Warn,
                    format!("beam geometric mean {g:.2}\" is above {max}\""),
                    g,
                    max,
                ));
            }
        }
    }
    out
}

/// Coarse cube, over the planes of one Stokes parameter of a product (all its spw files):
/// fails when every plane is rejected, warns when some are. `rejected` names the rejected
/// planes (e.g. `spw6` or `plane 6`) among `total`; `stokes` is named in the message when
/// the product has more than one Stokes parameter.
pub fn cube_plane_rules(total: usize, rejected: &[String], stokes: Option<&str>) -> Vec<Reason> {
    let n = rejected.len();
    if total == 0 || n == 0 {
        return Vec::new();
    }
    let prefix = stokes.map(|s| format!("Stokes {s}: ")).unwrap_or_default();
    if n == total {
        let message = if total == 1 {
            format!("{prefix}the only plane is rejected ({})", rejected[0])
        } else {
            format!("{prefix}all {total} planes are rejected")
        };
        vec![Reason::numeric(
            "all_planes_rejected",
            Status::Fail,
            message,
            n as f64,
            total as f64,
        )]
    } else {
        vec![Reason::numeric(
            "planes_rejected",
            Status::Warn,
            format!(
                "{prefix}{n} of {total} planes rejected ({})",
                rejected.join(", ")
            ),
            n as f64,
            total as f64,
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::BeamMetric;
    use crate::thresholds::Thresholds;

    fn good_se() -> Metrics {
        Metrics {
            pixels: 100,
            total_pixels: 100,
            finite_fraction: 1.0,
            robust_noise: Some(150e-6),
            dynamic_range: Some(500.0),
            beam: Some(BeamMetric::new(2.6, 2.4, 0.0, Some(0.6))),
            ..Metrics::default()
        }
    }

    fn names(r: &[Reason]) -> Vec<(&str, Status)> {
        r.iter().map(|r| (r.rule.as_str(), r.severity)).collect()
    }

    #[test]
    fn good_image_passes() {
        let t = Thresholds::defaults();
        assert!(intensity_rules(&good_se(), &t.se, true).is_empty());
        assert!(file_rules(&good_se()).is_empty());
    }

    #[test]
    fn noise_uses_the_rms_median_first_and_grades_warn_then_fail() {
        let t = Thresholds::defaults();
        let mut m = good_se();
        m.rms_median = Some(200e-6);
        assert_eq!(
            names(&intensity_rules(&m, &t.se, true)),
            vec![("noise_high", Status::Warn)]
        );
        m.rms_median = Some(400e-6);
        let r = intensity_rules(&m, &t.se, true);
        assert_eq!(names(&r), vec![("noise_high", Status::Fail)]);
        assert_eq!(r[0].threshold, serde_json::json!(0.00034));
        assert!(r[0].message.contains("rms image median"));
    }

    #[test]
    fn beam_geometry_rules() {
        let t = Thresholds::defaults();
        let mut m = good_se();
        m.beam = Some(BeamMetric::new(7.0, 1.5, 0.0, Some(0.6)));
        assert_eq!(
            names(&intensity_rules(&m, &t.se, true)),
            vec![
                ("beam_axial_ratio", Status::Fail),
                ("beam_undersampled", Status::Fail),
                ("beam_size", Status::Warn)
            ]
        );
        m.beam = None;
        assert_eq!(
            names(&intensity_rules(&m, &t.se, true)),
            vec![("beam_missing", Status::Fail)]
        );
        assert_eq!(
            names(&intensity_rules(&m, &t.unknown, false)),
            vec![("beam_missing", Status::Warn)]
        );
    }

    #[test]
    fn constant_and_blank_images() {
        let t = Thresholds::defaults();
        let mut m = good_se();
        m.robust_noise = Some(0.0);
        m.dynamic_range = None;
        assert_eq!(
            names(&intensity_rules(&m, &t.se, true)),
            vec![("noise_zero", Status::Fail)]
        );
        let blank = Metrics {
            total_pixels: 10,
            ..Metrics::default()
        };
        assert_eq!(
            names(&file_rules(&blank)),
            vec![("no_finite_pixels", Status::Fail)]
        );
        assert!(intensity_rules(&blank, &t.se, true).is_empty());
        let mut sparse = good_se();
        sparse.finite_fraction = 0.1;
        assert_eq!(
            names(&intensity_rules(&sparse, &t.se, true)),
            vec![("finite_fraction_low", Status::Fail)]
        );
        sparse.finite_fraction = 0.5;
        assert_eq!(
            names(&intensity_rules(&sparse, &t.se, true)),
            vec![("finite_fraction_low", Status::Warn)]
        );
    }

    #[test]
    fn dynamic_range_bounds() {
        let t = Thresholds::defaults();
        let mut m = good_se();
        m.dynamic_range = Some(2.0);
        assert_eq!(
            names(&intensity_rules(&m, &t.se, true)),
            vec![("dynamic_range_low", Status::Warn)]
        );
        m.dynamic_range = Some(1e7);
        assert_eq!(
            names(&intensity_rules(&m, &t.se, true)),
            vec![("dynamic_range_implausible", Status::Fail)]
        );
    }

    #[test]
    fn cube_plane_counts() {
        let labels = |l: &[&str]| -> Vec<String> { l.iter().map(|s| s.to_string()).collect() };
        assert!(cube_plane_rules(8, &[], None).is_empty());
        let some = cube_plane_rules(8, &labels(&["plane 3", "plane 6"]), None);
        assert_eq!(some[0].severity, Status::Warn);
        assert_eq!(some[0].message, "2 of 8 planes rejected (plane 3, plane 6)");
        let q = cube_plane_rules(5, &labels(&["spw4"]), Some("Q"));
        assert_eq!(q[0].message, "Stokes Q: 1 of 5 planes rejected (spw4)");
        let all = cube_plane_rules(1, &labels(&["spw6"]), None);
        assert_eq!(all[0].rule, "all_planes_rejected");
        assert_eq!(all[0].severity, Status::Fail);
    }
}
