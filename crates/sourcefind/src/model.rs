//! The plain data the finder hands to the catalogue writers. All positions are
//! 0-based pixel coordinates (x along NAXIS1, y along NAXIS2, pixel centres at
//! integers); all sizes are FWHM in pixels; all angles in degrees, measured
//! counter-clockwise from the +y axis of the pixel grid (PyBDSF's
//! `*_img_plane` convention). Fluxes are in the image unit (Jy/beam) for peaks and
//! Jy for integrated fluxes. Conversion to sky (RA/Dec, arcsec, PA east of north)
//! happens in the catalogue writer, which has the WCS.
//!
//! This file is the contract between the finder and the writers: fields may be
//! added, but not renamed or given other units.

/// Restoring beam in pixel units (FWHM), as the finder uses it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeamPix {
    pub maj_fwhm_pix: f64,
    pub min_fwhm_pix: f64,
    /// Degrees CCW from +y.
    pub pa_deg: f64,
}

/// How a source is built from Gaussians (PyBDSF's S_Code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SCode {
    /// The only Gaussian of its island.
    Single,
    /// One Gaussian in an island with several sources.
    Component,
    /// Several Gaussians.
    Multiple,
}

impl SCode {
    /// The one-letter code PyBDSF writes.
    pub fn letter(self) -> &'static str {
        match self {
            SCode::Single => "S",
            SCode::Component => "C",
            SCode::Multiple => "M",
        }
    }
}

/// An elliptical Gaussian shape with its 1-sigma errors (pixels / degrees).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Shape {
    pub maj_fwhm_pix: f64,
    pub e_maj_pix: f64,
    pub min_fwhm_pix: f64,
    pub e_min_pix: f64,
    pub pa_deg: f64,
    pub e_pa_deg: f64,
}

/// One fitted Gaussian component (a row of the Gaussian list, in pixel units).
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    /// 0-based, in output order.
    pub gaus_id: usize,
    pub isl_id: usize,
    pub source_id: usize,
    pub x: f64,
    pub e_x: f64,
    pub y: f64,
    pub e_y: f64,
    /// Fitted amplitude, Jy/beam.
    pub peak_flux: f64,
    pub e_peak_flux: f64,
    /// Integrated flux, Jy: peak * maj * min / (beam maj * beam min).
    pub total_flux: f64,
    pub e_total_flux: f64,
    /// Fitted size (never smaller than the beam's minor axis).
    pub shape: Shape,
    /// Deconvolved from the restoring beam; zeros when unresolved (PyBDSF's rule).
    pub deconvolved: Shape,
    /// Island values repeated per row, as PyBDSF writes them.
    pub isl_total_flux: f64,
    pub e_isl_total_flux: f64,
    pub isl_rms: f64,
    pub isl_mean: f64,
    pub resid_isl_rms: f64,
    pub resid_isl_mean: f64,
    pub s_code: SCode,
}

/// One source: one Gaussian (S, C) or several merged ones (M).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub source_id: usize,
    pub isl_id: usize,
    /// Flux-weighted centre (moment of the model for M sources).
    pub x: f64,
    pub e_x: f64,
    pub y: f64,
    pub e_y: f64,
    pub total_flux: f64,
    pub e_total_flux: f64,
    pub peak_flux: f64,
    pub e_peak_flux: f64,
    /// Position of the peak.
    pub x_max: f64,
    pub e_x_max: f64,
    pub y_max: f64,
    pub e_y_max: f64,
    pub shape: Shape,
    pub deconvolved: Shape,
    pub isl_total_flux: f64,
    pub e_isl_total_flux: f64,
    pub isl_rms: f64,
    pub isl_mean: f64,
    pub resid_isl_rms: f64,
    pub resid_isl_mean: f64,
    pub s_code: SCode,
    /// Indices into the Gaussian list.
    pub gaussians: Vec<usize>,
}

/// What happened to one island; failures are reported here, never dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum IslandOutcome {
    /// Fitted with this many accepted Gaussians.
    Fitted { gaussians: usize },
    /// No acceptable fit; the reason says why (e.g. "did not converge in 200 iterations").
    Failed { reason: String },
}

/// Summary of one island, in island-id order.
#[derive(Debug, Clone, PartialEq)]
pub struct Island {
    pub isl_id: usize,
    pub npix: usize,
    /// Bounding box, inclusive: (x0, y0, x1, y1).
    pub bbox: (usize, usize, usize, usize),
    pub peak_snr: f64,
    pub touches_edge: bool,
    pub outcome: IslandOutcome,
}

/// Everything the finder found on one plane.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detection {
    pub gaussians: Vec<Gaussian>,
    pub sources: Vec<Source>,
    pub islands: Vec<Island>,
    /// Median of the background rms map over finite pixels, Jy/beam.
    pub median_rms: f64,
    /// Median of the background mean map over finite pixels, Jy/beam.
    pub median_mean: f64,
    /// Robust pixel-to-pixel noise of the image (see
    /// [`crate::background::pixel_noise`]), Jy/beam; NaN if not measurable.
    pub pixel_noise: f64,
    /// Problems with the noise estimate worth telling the user (one line each).
    pub warnings: Vec<String>,
}
