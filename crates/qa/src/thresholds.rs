//! QA thresholds: every number a rule compares against, with its built-in default and the
//! one-line justification for it. The values are configuration: CAPO properties under
//! `edu.nrao.vlass.qa.` and `--threshold KEY=VALUE` flags override the defaults (see
//! [`DEFAULTS`]); `none` switches an optional bound off.

use std::fmt;

/// Namespace of every annotate-qa CAPO key.
pub const KEY_PREFIX: &str = "edu.nrao.vlass.qa.";

/// One configurable threshold: its key (without [`KEY_PREFIX`]), default and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdDefault {
    /// Key under `edu.nrao.vlass.qa.`, e.g. `se.noisewarnjy`.
    pub key: &'static str,
    /// Default value as text (a number, `true`/`false`, or `none`).
    pub value: &'static str,
    /// Why this default.
    pub why: &'static str,
}

const fn d(key: &'static str, value: &'static str, why: &'static str) -> ThresholdDefault {
    ThresholdDefault { key, value, why }
}

/// Every threshold with its default and justification (also printed in the README).
pub const DEFAULTS: &[ThresholdDefault] = &[
    // Quick Look.
    d("ql.noisewarnjy", "0.00017", "upper end of the VLASS SE rms specification (120-170 uJy/beam); QL images the same data, nominally ~120 uJy (Lacy et al. 2020)"),
    d("ql.noisefailjy", "0.00034", "twice the specification's upper end: the 5-sigma limit passes 1.7 mJy and the tile misses the survey's depth by a factor 2"),
    d("ql.finitefractionwarn", "0.8", "a QL cut-out lies inside the mosaic's pb > 0.2 footprint, so more than 20% blank means part of the tile was not imaged"),
    d("ql.finitefractionfail", "0.2", "the CASA pipeline's cube-plane rule (flagpct_thresh 0.8) rejects an image more than 80% blank; applied to continuum images as well"),
    d("ql.beamaxialratiomax", "3", "VLASS snapshots give axial ratios up to about 2 at the lowest declinations; above 3 the uv coverage or the beam fit failed"),
    d("ql.beamminpixels", "2", "QL samples its ~2.5 arcsec beam with 1.0 arcsec cells by design (2.5 pixels); under 2 pixels the beam is below Nyquist sampling"),
    d("ql.beamgeomeanminarcsec", "2.0", "SE specification 2.2-3.0 arcsec widened by ~10%: QL uses the same uv data without self-calibration"),
    d("ql.beamgeomeanmaxarcsec", "3.5", "SE specification widened by ~15%: real QL beams reach 3.3 x 2.8 arcsec (VLASS1.2 example, geometric mean 3.0)"),
    d("ql.dynamicrangemin", "5", "a ~1 deg2 VLASS tile always holds sources far above 5 sigma; a lower peak/noise means a blank or noise-only image"),
    d("ql.dynamicrangemax", "1e6", "at ~120 uJy noise this needs a >100 Jy/beam peak, brighter than any compact source of the VLASS sky; the noise estimate must be wrong"),
    d("ql.rmsrequired", "true", "the QL product delivers a tt0.rms image and VLASSRMS is its median; without it the product is incomplete"),
    // Single Epoch continuum.
    d("se.noisewarnjy", "0.00017", "upper end of the VLASS SE rms specification, 120-170 uJy/beam (SE continuum user guide, Table 1)"),
    d("se.noisefailjy", "0.00034", "twice the specification's upper end: the 5-sigma limit passes 1.7 mJy"),
    d("se.finitefractionwarn", "0.8", "an SE cut-out lies inside the mosaic's pb > 0.2 footprint, so more than 20% blank means part of the field was not imaged"),
    d("se.finitefractionfail", "0.2", "the CASA pipeline's cube-plane rule (flagpct_thresh 0.8) rejects an image more than 80% blank; applied to continuum images as well"),
    d("se.beamaxialratiomax", "3", "VLASS snapshots give axial ratios up to about 2 at the lowest declinations; above 3 the uv coverage or the beam fit failed"),
    d("se.beamminpixels", "3", "SE uses 0.6 arcsec cells for a 2.2-3.0 arcsec beam (3.7-5 pixels); under 3 pixels per beam Gaussian fitting and cleaning degrade"),
    d("se.beamgeomeanminarcsec", "2.2", "VLASS SE specification: beam geometric mean 2.2-3.0 arcsec (SE continuum user guide, Table 1)"),
    d("se.beamgeomeanmaxarcsec", "3.0", "VLASS SE specification: beam geometric mean 2.2-3.0 arcsec (SE continuum user guide, Table 1)"),
    d("se.dynamicrangemin", "5", "a VLASS SE field always holds sources far above 5 sigma; a lower peak/noise means a blank or noise-only image"),
    d("se.dynamicrangemax", "1e6", "at ~150 uJy noise this needs a >150 Jy/beam peak, brighter than any compact source of the VLASS sky; the noise estimate must be wrong"),
    d("se.rmsrequired", "true", "the SE product delivers a tt0.rms image and VLASSRMS is its median; without it the product is incomplete"),
    // Coarse cubes (file-level rules use the accepted planes).
    d("cc.noisewarnjy", "0.00068", "a 128 MHz plane has 1/16 of the continuum bandwidth, so 4x the SE specification's 170 uJy/beam"),
    d("cc.noisefailjy", "0.00136", "twice the scaled specification, as for continuum images"),
    d("cc.finitefractionwarn", "0.8", "same footprint argument as for SE images"),
    d("cc.finitefractionfail", "0.2", "the CASA pipeline's plane blank-fraction limit (flagpct_thresh 0.8)"),
    d("cc.beamaxialratiomax", "3", "as for continuum images: beyond 3 the uv coverage or the beam fit failed"),
    d("cc.beamminpixels", "2", "planes keep their native beam, which shrinks as 1/frequency to ~2 arcsec (3.3 pixels of 0.6 arcsec) at 4 GHz; under 2 pixels is below Nyquist"),
    d("cc.dynamicrangemin", "5", "as for continuum images"),
    d("cc.dynamicrangemax", "1e6", "as for continuum images"),
    d("cc.rmsrequired", "false", "coarse-cube rms images are optional deliverables; per-plane noise is measured directly"),
    d("cc.beamdeviationmax", "0.2", "CASA pipeline vlass_plane_reject_im beamdev_thresh: BMAJ and BMIN within 20% of the beam expected from 1/frequency scaling"),
    d("cc.blankfractionmax", "0.8", "CASA pipeline vlass_plane_reject_im flagpct_thresh, applied to the blank (non-finite) pixel fraction of the plane"),
    d("cc.noiseoutlierz", "3.5", "Iglewicz & Hoaglin (1993) modified z-score cut-off for outliers, applied to log(plane noise) against the median of the planes"),
    d("cc.noiseexcessmin", "1.2", "a plane must also be 20% noisier than the median plane: S-band spectral windows differ by up to ~20% in sensitivity (Tsys, usable bandwidth) without anything wrong"),
    d("cc.noiseminplanes", "4", "fewer planes give no robust median and MAD to compare against"),
    d("cc.rejectplaceholderbeam", "true", "a Gaussian fitted to a real PSF is never exactly circular at PA 0; CASA writes such a beam when its PSF fit fails"),
    // Files whose name is not a VLASS name: generic sanity only.
    d("unknown.noisewarnjy", "none", "no specification applies to an unrecognised product"),
    d("unknown.noisefailjy", "none", "no specification applies to an unrecognised product"),
    d("unknown.finitefractionwarn", "0.8", "as for VLASS images"),
    d("unknown.finitefractionfail", "0.2", "as for VLASS images"),
    d("unknown.beamaxialratiomax", "3", "as for VLASS images"),
    d("unknown.beamminpixels", "2", "Nyquist sampling of the beam"),
    d("unknown.dynamicrangemin", "5", "as for VLASS images"),
    d("unknown.dynamicrangemax", "1e6", "as for VLASS images"),
    d("unknown.rmsrequired", "false", "no product layout is known"),
    // Alpha statistics.
    d("alphasnrmin", "10", "spectral index is only meaningful where tt0 is well detected; S/N 10 gives an alpha error of ~0.2-0.6 (SE user guide accuracy formula)"),
];

/// Thresholds of the rules applied to one kind's intensity images.
#[derive(Debug, Clone, PartialEq)]
pub struct KindThresholds {
    /// Noise (rms-image median, else robust noise) above this warns, Jy/beam.
    pub noise_warn_jy: Option<f64>,
    /// Noise above this fails, Jy/beam.
    pub noise_fail_jy: Option<f64>,
    /// Finite fraction below this warns.
    pub finite_fraction_warn: f64,
    /// Finite fraction below this fails.
    pub finite_fraction_fail: f64,
    /// BMAJ/BMIN above this fails.
    pub beam_axial_ratio_max: f64,
    /// BMIN in pixels below this fails.
    pub beam_min_pixels: f64,
    /// Beam geometric mean below this warns, arcsec.
    pub beam_geomean_min_arcsec: Option<f64>,
    /// Beam geometric mean above this warns, arcsec.
    pub beam_geomean_max_arcsec: Option<f64>,
    /// Dynamic range below this warns.
    pub dynamic_range_min: f64,
    /// Dynamic range above this fails.
    pub dynamic_range_max: f64,
    /// A missing rms image fails the product.
    pub rms_required: bool,
}

/// Thresholds of coarse-cube plane rejection.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneThresholds {
    /// Largest allowed |beam / expected - 1| for BMAJ and BMIN.
    pub beam_deviation_max: f64,
    /// Largest allowed blank fraction of a plane.
    pub blank_fraction_max: f64,
    /// Modified z-score of log(noise) above which a plane is a noise outlier.
    pub noise_outlier_z: f64,
    /// A noise outlier must also exceed the median plane noise by this factor.
    pub noise_excess_min: f64,
    /// Fewest planes for the noise-outlier test.
    pub noise_min_planes: usize,
    /// Reject planes whose beam is exactly circular at PA 0 (CASA's failed-fit beam).
    pub reject_placeholder_beam: bool,
}

/// All thresholds of annotate-qa.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Quick Look.
    pub ql: KindThresholds,
    /// Single Epoch continuum.
    pub se: KindThresholds,
    /// Coarse cube (file level).
    pub cc: KindThresholds,
    /// Unrecognised names.
    pub unknown: KindThresholds,
    /// Coarse-cube plane rejection.
    pub planes: PlaneThresholds,
    /// tt0 S/N above which alpha pixels enter the alpha statistics.
    pub alpha_snr_min: f64,
}

/// A threshold value that does not parse.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdError {
    /// Full key.
    pub key: String,
    /// The offending value.
    pub value: String,
    /// What was expected.
    pub expected: &'static str,
}

impl fmt::Display for ThresholdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: value '{}' is not {}",
            self.key, self.value, self.expected
        )
    }
}

impl std::error::Error for ThresholdError {}

/// Full key (`edu.nrao.vlass.qa.<short>`) for a short key; full keys pass unchanged.
pub fn full_key(key: &str) -> String {
    let lower = key.trim().to_ascii_lowercase();
    if lower.starts_with(KEY_PREFIX) {
        lower
    } else {
        format!("{KEY_PREFIX}{lower}")
    }
}

/// True when `key` (short or full) names a known threshold.
pub fn is_known_key(key: &str) -> bool {
    let full = full_key(key);
    DEFAULTS.iter().any(|t| full_key(t.key) == full)
}

struct Reader<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl Reader<'_> {
    fn raw(&self, short: &str) -> String {
        let full = full_key(short);
        (self.get)(&full).unwrap_or_else(|| {
            DEFAULTS
                .iter()
                .find(|t| t.key == short)
                .map(|t| t.value.to_string())
                .unwrap_or_default()
        })
    }

    fn error(&self, short: &str, value: String, expected: &'static str) -> ThresholdError {
        ThresholdError {
            key: full_key(short),
            value,
            expected,
        }
    }

    fn real(&self, short: &str) -> Result<f64, ThresholdError> {
        let v = self.raw(short);
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(self.error(short, v, "a finite number")),
        }
    }

    fn optional(&self, short: &str) -> Result<Option<f64>, ThresholdError> {
        let v = self.raw(short);
        if v.trim().eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        self.real(short).map(Some)
    }

    fn flag(&self, short: &str) -> Result<bool, ThresholdError> {
        let v = self.raw(short);
        match v.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "1" => Ok(true),
            "false" | "f" | "no" | "0" => Ok(false),
            _ => Err(self.error(short, v, "true or false")),
        }
    }

    fn count(&self, short: &str) -> Result<usize, ThresholdError> {
        let v = self.raw(short);
        v.trim()
            .parse::<usize>()
            .map_err(|_| self.error(short, v, "a whole number"))
    }

    fn kind(&self, kind: &str) -> Result<KindThresholds, ThresholdError> {
        let key = |name: &str| format!("{kind}.{name}");
        let has = |name: &str| DEFAULTS.iter().any(|t| t.key == key(name));
        let optional_if_declared = |name: &str| -> Result<Option<f64>, ThresholdError> {
            if has(name) {
                self.optional(&key(name))
            } else {
                Ok(None)
            }
        };
        Ok(KindThresholds {
            noise_warn_jy: self.optional(&key("noisewarnjy"))?,
            noise_fail_jy: self.optional(&key("noisefailjy"))?,
            finite_fraction_warn: self.real(&key("finitefractionwarn"))?,
            finite_fraction_fail: self.real(&key("finitefractionfail"))?,
            beam_axial_ratio_max: self.real(&key("beamaxialratiomax"))?,
            beam_min_pixels: self.real(&key("beamminpixels"))?,
            beam_geomean_min_arcsec: optional_if_declared("beamgeomeanminarcsec")?,
            beam_geomean_max_arcsec: optional_if_declared("beamgeomeanmaxarcsec")?,
            dynamic_range_min: self.real(&key("dynamicrangemin"))?,
            dynamic_range_max: self.real(&key("dynamicrangemax"))?,
            rms_required: self.flag(&key("rmsrequired"))?,
        })
    }
}

impl Thresholds {
    /// Thresholds from a lookup of full keys (CAPO and flags already layered);
    /// keys the lookup does not know take their default.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Thresholds, ThresholdError> {
        let r = Reader { get };
        Ok(Thresholds {
            ql: r.kind("ql")?,
            se: r.kind("se")?,
            cc: r.kind("cc")?,
            unknown: r.kind("unknown")?,
            planes: PlaneThresholds {
                beam_deviation_max: r.real("cc.beamdeviationmax")?,
                blank_fraction_max: r.real("cc.blankfractionmax")?,
                noise_outlier_z: r.real("cc.noiseoutlierz")?,
                noise_excess_min: r.real("cc.noiseexcessmin")?,
                noise_min_planes: r.count("cc.noiseminplanes")?,
                reject_placeholder_beam: r.flag("cc.rejectplaceholderbeam")?,
            },
            alpha_snr_min: r.real("alphasnrmin")?,
        })
    }

    /// The built-in defaults.
    pub fn defaults() -> Thresholds {
        // The defaults table parses by construction (checked by a unit test).
        Thresholds::from_lookup(&|_| None).unwrap_or_else(|e| panic!("built-in default: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_are_unique() {
        let t = Thresholds::from_lookup(&|_| None).unwrap();
        assert_eq!(t.se.noise_warn_jy, Some(0.00017));
        assert_eq!(t.unknown.noise_warn_jy, None);
        assert_eq!(t.cc.beam_geomean_min_arcsec, None);
        assert_eq!(t.planes.noise_min_planes, 4);
        let mut keys: Vec<_> = DEFAULTS.iter().map(|t| t.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), DEFAULTS.len());
        assert!(DEFAULTS.iter().all(|t| !t.why.is_empty()));
    }

    #[test]
    fn overrides_and_bad_values() {
        let t = Thresholds::from_lookup(&|k| {
            (k == "edu.nrao.vlass.qa.se.noisewarnjy").then(|| "none".to_string())
        })
        .unwrap();
        assert_eq!(t.se.noise_warn_jy, None);
        let err = Thresholds::from_lookup(&|k| {
            (k == "edu.nrao.vlass.qa.cc.noiseoutlierz").then(|| "high".to_string())
        })
        .unwrap_err();
        assert_eq!(err.key, "edu.nrao.vlass.qa.cc.noiseoutlierz");
        assert!(err.to_string().contains("'high'"));
    }

    #[test]
    fn every_threshold_is_documented_in_the_readme() {
        let readme = include_str!("../../../README.md");
        for t in DEFAULTS {
            let row = format!("| `{}` | {} |", t.key, t.value);
            assert!(readme.contains(&row), "README lacks the row for {}", t.key);
        }
    }

    #[test]
    fn keys_short_or_full() {
        assert!(is_known_key("se.noisewarnjy"));
        assert!(is_known_key("EDU.NRAO.VLASS.QA.SE.NOISEWARNJY"));
        assert!(!is_known_key("se.noisewarn"));
    }
}
