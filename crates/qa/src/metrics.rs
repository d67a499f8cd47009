//! The metrics of one file or plane as they appear in the JSON report. Every number is
//! finite or `null`; a `null` statistic has its reason in `null_reasons`.

use serde::Serialize;
use std::collections::BTreeMap;
use vlass_imstats::PlaneStats;

/// The brightest finite pixel, with its sky position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeakMetric {
    /// Pixel value (image units, Jy/beam for intensity images).
    pub value: f64,
    /// 0-based column.
    pub x: usize,
    /// 0-based row.
    pub y: usize,
    /// Right ascension of the pixel centre, degrees in [0, 360).
    pub ra_deg: Option<f64>,
    /// Declination of the pixel centre, degrees.
    pub dec_deg: Option<f64>,
}

/// Restoring beam and derived sizes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BeamMetric {
    /// Major axis FWHM, arcsec.
    pub bmaj_arcsec: f64,
    /// Minor axis FWHM, arcsec.
    pub bmin_arcsec: f64,
    /// Position angle, degrees.
    pub bpa_deg: f64,
    /// BMAJ / BMIN.
    pub axial_ratio: Option<f64>,
    /// BMIN over the pixel scale.
    pub bmin_pixels: Option<f64>,
    /// sqrt(BMAJ x BMIN), arcsec (the VLASS specification's beam size).
    pub geometric_mean_arcsec: f64,
}

impl BeamMetric {
    /// Beam metrics from axes in arcsec, PA in degrees and the pixel scale in arcsec.
    pub fn new(
        bmaj_arcsec: f64,
        bmin_arcsec: f64,
        bpa_deg: f64,
        pixel_arcsec: Option<f64>,
    ) -> Self {
        BeamMetric {
            bmaj_arcsec,
            bmin_arcsec,
            bpa_deg,
            axial_ratio: finite(bmaj_arcsec / bmin_arcsec),
            bmin_pixels: pixel_arcsec.and_then(|p| finite(bmin_arcsec / p)),
            geometric_mean_arcsec: (bmaj_arcsec * bmin_arcsec).sqrt(),
        }
    }
}

/// Median and spread of a spectral-index image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlphaMetric {
    /// Median alpha.
    pub median: Option<f64>,
    /// Spread: 1.4826 x MAD of alpha.
    pub spread: Option<f64>,
    /// Pixels that entered.
    pub count: usize,
    /// Which pixels: `tt0_snr_above` (tt0 / tt0 robust noise > threshold) or `finite`.
    pub selection: String,
}

/// Metrics of a file (or, for cubes, a plane).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Metrics {
    /// Finite pixels, over which every statistic is taken.
    pub pixels: usize,
    /// All pixels (finite or not).
    pub total_pixels: usize,
    /// pixels / total_pixels.
    pub finite_fraction: f64,
    /// Smallest finite value.
    pub min: Option<f64>,
    /// Largest finite value.
    pub max: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
    /// Population standard deviation (ddof = 0).
    pub std: Option<f64>,
    /// Exact median.
    pub median: Option<f64>,
    /// 1.4826 x exact median absolute deviation from the median.
    pub robust_noise: Option<f64>,
    /// Brightest finite pixel.
    pub peak: Option<PeakMetric>,
    /// peak / robust_noise.
    pub dynamic_range: Option<f64>,
    /// Restoring beam.
    pub beam: Option<BeamMetric>,
    /// Median of the product's matching rms image (VLASSRMS), Jy/beam.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rms_median: Option<f64>,
    /// Spectral-index statistics (alpha images only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<AlphaMetric>,
    /// For each `null` metric, why it is null.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub null_reasons: BTreeMap<String, String>,
}

/// `Some(x)` for a finite x, else `None`.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl Metrics {
    /// Metrics from plane statistics; `peak_sky` converts the peak pixel to (RA, Dec) degrees
    /// or says why it cannot.
    pub fn from_stats(
        stats: &PlaneStats,
        peak_sky: &dyn Fn(usize, usize) -> Result<(f64, f64), String>,
    ) -> Metrics {
        let mut m = Metrics {
            pixels: stats.finite_pixels,
            total_pixels: stats.total_pixels,
            finite_fraction: stats.finite_fraction(),
            min: stats.min,
            max: stats.max,
            mean: stats.mean,
            std: stats.std.and_then(finite),
            median: stats.median,
            robust_noise: stats.robust_noise,
            ..Metrics::default()
        };
        if stats.finite_pixels == 0 {
            m.set_statistics_null("no finite pixel");
            return m;
        }
        if let Some(p) = stats.peak {
            let (ra_deg, dec_deg) = match peak_sky(p.x, p.y) {
                Ok((ra, dec)) => (Some(ra), Some(dec)),
                Err(why) => {
                    m.null_reasons.insert("peak.ra_deg".into(), why.clone());
                    m.null_reasons.insert("peak.dec_deg".into(), why);
                    (None, None)
                }
            };
            m.peak = Some(PeakMetric {
                value: p.value,
                x: p.x,
                y: p.y,
                ra_deg,
                dec_deg,
            });
            m.dynamic_range = match stats.robust_noise {
                Some(noise) if noise > 0.0 => finite(p.value / noise),
                _ => {
                    m.set_null_reason("dynamic_range", "robust noise is zero (constant image)");
                    None
                }
            };
        }
        m
    }

    /// Records why `key` is null.
    pub fn set_null_reason(&mut self, key: &str, why: impl Into<String>) {
        self.null_reasons.insert(key.to_string(), why.into());
    }

    /// Records `why` for every statistic that needs a finite pixel (all of
    /// them null when there is none).
    pub fn set_statistics_null(&mut self, why: &str) {
        for key in [
            "min",
            "max",
            "mean",
            "std",
            "median",
            "robust_noise",
            "peak",
            "dynamic_range",
        ] {
            self.set_null_reason(key, why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vlass_imstats::plane_stats;

    #[test]
    fn nan_only_plane_gives_nulls_with_reasons() {
        let s = plane_stats(&[f32::NAN; 4], 2).unwrap();
        let m = Metrics::from_stats(&s, &|_, _| Ok((1.0, 2.0)));
        let json = serde_json::to_value(&m).unwrap();
        assert!(json["median"].is_null());
        assert_eq!(json["null_reasons"]["median"], "no finite pixel");
        assert_eq!(json["pixels"], 0);
    }

    #[test]
    fn constant_plane_has_no_dynamic_range() {
        let s = plane_stats(&[1.0; 4], 2).unwrap();
        let m = Metrics::from_stats(&s, &|_, _| Err("no WCS".into()));
        assert_eq!(m.dynamic_range, None);
        assert!(m.null_reasons["dynamic_range"].contains("constant"));
        assert_eq!(m.null_reasons["peak.ra_deg"], "no WCS");
        let p = m.peak.unwrap();
        assert_eq!((p.x, p.y, p.ra_deg), (0, 0, None));
    }

    #[test]
    fn beam_derived_sizes() {
        let b = BeamMetric::new(3.0, 2.0, 10.0, Some(0.5));
        assert_eq!(b.axial_ratio, Some(1.5));
        assert_eq!(b.bmin_pixels, Some(4.0));
        assert!((b.geometric_mean_arcsec - 6f64.sqrt()).abs() < 1e-15);
        assert_eq!(BeamMetric::new(3.0, 0.0, 0.0, None).axial_ratio, None);
    }
}
