//! Source finding on one image plane: background -> islands -> Gaussian fits
//! -> sources, with plain data in between (SEP's shape). The finder works in
//! pixel coordinates; turning results into sky catalogues is `catalog`'s job.
//!
//! The method follows PyBDSF 1.14 where PyBDSF is sound, and says where it
//! does not:
//! 1. [`mod@background`]: PyBDSF's `bstat` clipping (kappa from the beams per box,
//!    truncation-corrected sigma, mode estimate of the mean) in boxes of 30 beam
//!    FWHMs stepped by a third, sampled at about Nyquist (all boxes clipped at
//!    once from shared sorted cells, `boxstats`), interpolated bilinearly;
//!    each map is used only if it varies more than box noise explains (PyBDSF's
//!    test), else its median. A supplied rms map replaces the computed rms.
//!    Boxes whose rms is far above what the image's pixel-to-pixel noise
//!    allows (`background::EMISSION_BOX_RATIO`) measure emission that fills
//!    them and are filled from their neighbours; if every box does, the mean is
//!    0 and the rms the pixel-to-pixel noise ([`background::pixel_noise`]),
//!    with a warning in [`model::Detection::warnings`].
//! 2. [`islands`]: 8-connected pixels with (I - mean) >= `thresh_isl` x rms,
//!    at least max(6, beam area / 3) pixels, peak > `thresh_pix` x rms; one
//!    flood-fill pass, ordered like PyBDSF's labelling.
//! 3. [`decompose`]: local maxima as initial guesses, a joint Levenberg-Marquardt
//!    fit ([`lm`], analytic Jacobian, box bounds, sizes >= the beam's minor axis)
//!    on the island and its boundary ring, PyBDSF's flags, residual-driven extra
//!    Gaussians kept only when significant at `thresh_isl`; islands above
//!    `max_joint_fit_pixels` are fitted one Gaussian at a time in windows.
//! 4. [`errors`]: Condon (1997) errors exactly as PyBDSF's `get_errors`;
//!    deconvolution as PyBDSF's `deconv2` (Miriad `gaupar`).
//! 5. [`group`]: PyBDSF's min / distance / continuity tests into S / C / M
//!    sources; M sources by moments of their model.
//!
//! Islands are fitted in parallel on the current rayon pool; results do not
//! depend on the thread count.

pub mod background;
mod boxstats;
pub mod catalog;
pub mod cube;
pub mod decompose;
pub mod errors;
#[cfg(test)]
mod find_tests;
pub mod group;
pub mod islands;
pub mod lm;
pub mod model;
pub mod stats;
#[cfg(test)]
mod synth;

use std::fmt;

use ndarray::ArrayView2;
use rayon::prelude::*;

pub use background::Background;
use model::{BeamPix, Detection};

/// Settings of the finder. `Default` gives PyBDSF's defaults where PyBDSF has
/// one.
#[derive(Debug, Clone, PartialEq)]
pub struct FindOptions {
    /// Island boundary, in units of the local rms above the local mean (PyBDSF 3).
    pub thresh_isl: f64,
    /// An island must hold a pixel this many rms above the mean (PyBDSF 5).
    pub thresh_pix: f64,
    /// Background box side and step in pixels; `None` chooses
    /// [`background::default_box`]: 30 beam FWHMs (odd, at least 25 pixels, at
    /// most the smaller image side), step a third of it.
    pub rms_box: Option<(usize, usize)>,
    /// At most this many Gaussians per island (PyBDSF's limit for its initial
    /// guesses is 25).
    pub max_gaussians_per_island: usize,
    /// Levenberg-Marquardt iteration limit per fit.
    pub max_iterations: usize,
    /// Islands with more pixels than this are not fitted jointly: Gaussians are
    /// fitted one at a time to the residual in windows around its peaks
    /// (PyBDSF's `peak_fit` idea), so the work stays bounded.
    pub max_joint_fit_pixels: usize,
    /// Minimum island size in pixels; `None` = PyBDSF's max(6, beam area / 3).
    pub min_island_pixels: Option<usize>,
}

impl Default for FindOptions {
    fn default() -> Self {
        FindOptions {
            thresh_isl: 3.0,
            thresh_pix: 5.0,
            rms_box: None,
            max_gaussians_per_island: 25,
            max_iterations: 200,
            max_joint_fit_pixels: 4000,
            min_island_pixels: None,
        }
    }
}

/// Why the finder could not run at all (per-island failures are in
/// [`model::Island::outcome`] instead).
#[derive(Debug, Clone, PartialEq)]
pub enum FindError {
    /// The image has zero rows or columns.
    EmptyImage,
    /// Every pixel is blank (NaN) or infinite.
    NoValidPixels,
    /// Every finite pixel has this one value: there is no noise to measure.
    ConstantImage(f32),
    /// No background box holds enough finite pixels to measure the noise.
    TooFewPixels,
    /// The supplied rms map has another shape than the image.
    RmsShape {
        image: (usize, usize),
        rms: (usize, usize),
    },
    /// The supplied rms map has no finite positive value.
    RmsUnusable,
    /// The beam is not a positive finite size.
    BadBeam(BeamPix),
    /// The beam's major axis is longer than the image is wide and high: nothing
    /// the size of one beam fits in the image (a damaged BMAJ, or the wrong unit).
    BeamLargerThanImage(BeamPix, usize),
    /// An option is out of range.
    BadOption(String),
}

impl fmt::Display for FindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FindError::EmptyImage => write!(f, "image has no pixels"),
            FindError::NoValidPixels => write!(f, "image has no finite pixels (all blank)"),
            FindError::ConstantImage(v) => write!(
                f,
                "image is constant (every finite pixel is {v}): zero noise, nothing to detect"
            ),
            FindError::TooFewPixels => write!(
                f,
                "too few finite pixels in every background box to measure the noise"
            ),
            FindError::RmsShape { image, rms } => write!(
                f,
                "rms map is {}x{} pixels but the image is {}x{}",
                rms.1, rms.0, image.1, image.0
            ),
            FindError::RmsUnusable => write!(f, "rms map has no finite positive value"),
            FindError::BadBeam(b) => write!(
                f,
                "beam {} x {} pixels is not a usable size",
                b.maj_fwhm_pix, b.min_fwhm_pix
            ),
            FindError::BeamLargerThanImage(b, size) => {
                let axis = b.maj_fwhm_pix.max(b.min_fwhm_pix);
                let shown = if axis < 1e6 {
                    format!("{axis:.1}")
                } else {
                    format!("{axis:.3e}")
                };
                write!(
                    f,
                    "beam axis {shown} pixels is longer than the image ({size} pixels): check BMAJ/BMIN"
                )
            }
            FindError::BadOption(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for FindError {}

fn check_inputs(
    image: &ArrayView2<f32>,
    rms_map: Option<&ArrayView2<f32>>,
    beam: BeamPix,
    opts: &FindOptions,
) -> Result<(), FindError> {
    let usable = |v: f64| v.is_finite() && v > 0.0;
    if !usable(beam.maj_fwhm_pix) || !usable(beam.min_fwhm_pix) || !beam.pa_deg.is_finite() {
        return Err(FindError::BadBeam(beam));
    }
    let size = image.nrows().max(image.ncols());
    if size > 0 && beam.maj_fwhm_pix.max(beam.min_fwhm_pix) > size as f64 {
        return Err(FindError::BeamLargerThanImage(beam, size));
    }
    if !usable(opts.thresh_isl) || !usable(opts.thresh_pix) {
        return Err(FindError::BadOption(format!(
            "thresholds must be positive (thresh_isl {}, thresh_pix {})",
            opts.thresh_isl, opts.thresh_pix
        )));
    }
    if opts.thresh_pix < opts.thresh_isl {
        return Err(FindError::BadOption(format!(
            "thresh_pix {} is below thresh_isl {}",
            opts.thresh_pix, opts.thresh_isl
        )));
    }
    if opts.max_gaussians_per_island == 0 || opts.max_iterations == 0 {
        return Err(FindError::BadOption(
            "max_gaussians_per_island and max_iterations must be at least 1".into(),
        ));
    }
    if image.is_empty() {
        return Err(FindError::EmptyImage);
    }
    if let Some(rms) = rms_map {
        if rms.dim() != image.dim() {
            return Err(FindError::RmsShape {
                image: image.dim(),
                rms: rms.dim(),
            });
        }
        if !rms.iter().any(|&v| v.is_finite() && v > 0.0) {
            return Err(FindError::RmsUnusable);
        }
    }
    Ok(())
}

/// Background mean and rms of `image` (NaN = blank) on the grid the options
/// choose.
pub fn background(
    image: ArrayView2<f32>,
    beam: BeamPix,
    opts: &FindOptions,
) -> Result<Background, FindError> {
    check_inputs(&image, None, beam, opts)?;
    Background::compute(image, beam, opts)
}

/// Finds and fits the sources of one plane. `image` is [ny, nx] (`a[[y, x]]`),
/// NaN = blank; `rms_map`, when given, replaces the computed rms (same shape;
/// pixels where it is not finite and positive are treated as blank).
///
/// Islands are fitted in parallel on the current rayon pool; the result does not
/// depend on the number of threads.
pub fn find(
    image: ArrayView2<f32>,
    rms_map: Option<ArrayView2<f32>>,
    beam: BeamPix,
    opts: &FindOptions,
) -> Result<Detection, FindError> {
    check_inputs(&image, rms_map.as_ref(), beam, opts)?;
    let bg = Background::compute(image, beam, opts)?;
    let noise = islands::Noise {
        background: &bg,
        rms_map,
    };
    let found = islands::find_islands(image, &noise, beam, opts);
    let fitted: Vec<decompose::IslandFit> = found
        .par_iter()
        .map(|isl| decompose::fit_island(image, isl, beam, opts))
        .collect();
    let mut detection = group::assemble(&found, fitted, beam, opts.thresh_isl);
    let (median_mean, median_rms) = islands::median_maps(image, &noise);
    detection.median_mean = median_mean;
    detection.median_rms = median_rms;
    detection.pixel_noise = bg.pixel_noise;
    detection.warnings = noise_warnings(&bg, median_rms, beam, rms_map.is_some());
    Ok(detection)
}

/// The rms map is suspect when its median is more than this many times the
/// rms that the pixel-to-pixel noise predicts for beam-correlated noise.
const RMS_WARN_RATIO: f64 = background::EMISSION_BOX_RATIO;

/// Warnings about the noise estimate: boxes replaced because emission filled
/// them, a background taken from the pixel-to-pixel noise alone, and a final
/// (computed or supplied) rms map far above the pixel-to-pixel noise.
fn noise_warnings(bg: &Background, median_rms: f64, beam: BeamPix, supplied: bool) -> Vec<String> {
    let mut out = Vec::new();
    let pn = bg.pixel_noise;
    if bg.from_pixel_noise {
        out.push(format!(
            "emission fills every {}-pixel background box (clipped rms far above the \
             pixel-to-pixel noise {:.3e} Jy/beam): background taken as 0 and rms as that \
             noise, right for independent pixels but low if the noise is correlated like \
             the beam (then about {:.3e}); consider --rms-map",
            bg.box_size,
            pn,
            background::correlated_noise_factor(beam) * pn
        ));
    } else if bg.emission_boxes > 0 {
        out.push(format!(
            "{} of {} background boxes measured emission, not noise (rms above {} x the \
             noise expected from the pixel-to-pixel noise {:.3e} Jy/beam); \
             filled from their neighbours",
            bg.emission_boxes,
            bg.boxes,
            background::EMISSION_BOX_RATIO,
            pn
        ));
    }
    let expected = background::correlated_noise_factor(beam) * pn;
    if (supplied || !bg.from_pixel_noise) && median_rms > RMS_WARN_RATIO * expected {
        out.push(format!(
            "median rms {:.3e} Jy/beam is {:.0} x the pixel-to-pixel noise {:.3e} Jy/beam: \
             the {} rms map probably measures emission, and sources will be missed",
            median_rms,
            median_rms / pn,
            pn,
            if supplied { "supplied" } else { "computed" }
        ));
    }
    out
}
